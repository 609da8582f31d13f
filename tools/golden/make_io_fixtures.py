#!/usr/bin/env python3
"""Generate the small NumPy interop fixtures in tests/fixtures/io/ (read by tests/WaferSharp.Tests/IO).

Run from the repository root with the system numpy:  /usr/bin/python3 tools/golden/make_io_fixtures.py
The .npy files are byte-deterministic; the .npz files embed ZIP timestamps, so they differ per run
(their contents do not). Expected values are hard-coded in NpyTests/NpzTests; keep them in sync.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "io")


def main():
    os.makedirs(OUT, exist_ok=True)

    def save(name, a, **kw):
        np.save(os.path.join(OUT, name), a, **kw)

    f32 = np.array([[0.0, -0.0, 1.5, -2.25], [np.inf, -np.inf, 1e-30, 3.4028235e38]], dtype=np.float32)
    save("f32_2x4.npy", f32)
    save("f32_nan.npy", np.array([np.nan], dtype=np.float32))
    save("i64_5.npy", np.array([0, -1, 2**40, np.iinfo(np.int64).min, np.iinfo(np.int64).max], dtype=np.int64))
    save("bool_2x3.npy", np.array([[True, False, True], [False, False, True]]))
    save("f8_be_4.npy", np.array([0.5, -1.25, 3.0, 0.1], dtype=">f8"))
    save("i4_be_3.npy", np.array([1, -2, 70000], dtype=">i4"))
    save("f16_3.npy", np.array([1.0, -0.5, 65504.0], dtype=np.float16))
    save("u1_3.npy", np.array([0, 200, 255], dtype=np.uint8))
    save("scalar_f32.npy", np.array(3.5, dtype=np.float32))
    save("empty_f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save("fortran_f32_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([7, -8], dtype=np.int64)
    c = np.array([True, False])
    np.savez(os.path.join(OUT, "stored.npz"), a=a, b=b, c=c)
    np.savez_compressed(os.path.join(OUT, "compressed.npz"), a=a, b=b, c=c)

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files ({total} bytes) to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
