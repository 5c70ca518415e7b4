# pool.py: a Python multiprocessing Pool map, for the record truth test.
import multiprocessing


def square(x):
    return x * x


if __name__ == "__main__":
    data = list(range(20000))
    with multiprocessing.Pool(2) as pool:
        out = pool.map(square, data, chunksize=1000)
    print("pool:", sum(out))
