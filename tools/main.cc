// main.cc: the `rmaplab` executable; everything is in cli::Main.
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return rmaplab::cli::Main(args, rmaplab::cli::Io{&std::cout, &std::cerr});
}
