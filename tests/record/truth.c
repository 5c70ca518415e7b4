/* truth.c: a program written for the record truth test (tests/record/).
 * It does, once each: a private anonymous mmap and writes, a shared
 * anonymous mapping written by parent and child, fork with copy-on-write in
 * the child, mremap (grow in place, then move), mprotect, munmap of a
 * middle part, a thread that maps and writes its own memory, and exec
 * (the child re-executes this program with "exec", which maps and writes
 * a little and exits).  Every process exits normally with status 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void touch(char *p, size_t pages, char v) {
  for (size_t i = 0; i < pages; i++) p[i * PAGE] = v;
}

static void *thread_main(void *arg) {
  char *p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(p, 8, 3);
  return arg;
}

static int after_exec(void) {
  char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(p, 4, 9);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "exec") == 0) return after_exec();
  char *a = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(a, 32, 1);
  volatile char sink = a[40 * 0];  /* a read of a written page: no fault */
  (void)sink;
  char *s = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  touch(s, 4, 2);
  char *z = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 8; i++) sink = z[i * PAGE];  /* read faults: zero page */
  pid_t c = fork();
  if (c == 0) {
    touch(a, 8, 5);      /* COW in the child */
    touch(s + 4 * PAGE, 4, 6);
    pid_t g = fork();
    if (g == 0) {
      execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
      _exit(1);
    }
    int st;
    waitpid(g, &st, 0);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
  }
  int st;
  waitpid(c, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
  /* mremap: grow in place if it can, then move */
  char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(m, 4, 7);
  m = mremap(m, 4 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
  touch(m, 16, 8);
  char *to = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  m = mremap(m, 16 * PAGE, 16 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to + 8 * PAGE);
  mprotect(a + 4 * PAGE, 4 * PAGE, PROT_READ);
  munmap(a + 16 * PAGE, 8 * PAGE);
  madvise(a + 24 * PAGE, 4 * PAGE, MADV_DONTNEED);
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);
  printf("truth: done\n");
  return 0;
}
