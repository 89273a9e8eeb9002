"""Writes the small MATLAB v5 fixtures of test/mat.test.ts with scipy.io.savemat.

Pixel pattern (checked independently by the test): X[r, c, ch, i] = (7r + 3c + 50ch + 11i) mod 256.
Usage: /usr/bin/python3 scripts/make_mat_fixtures.py   (from packages/datasets)
"""
import numpy as np
import scipy.io

out = 'test/fixtures/mat'
n = 5
r, c, ch, i = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), np.arange(n), indexing='ij')
X = ((7 * r + 3 * c + 50 * ch + 11 * i) % 256).astype(np.uint8)
y = np.array([[1], [10], [3], [10], [7]], dtype=np.float64)
# SVHN layout, zlib-compressed elements (what MATLAB's save -v7 writes).
scipy.io.savemat(f'{out}/train_32x32.mat', {'X': X, 'y': y}, do_compression=True)
# The same layout uncompressed.
scipy.io.savemat(f'{out}/test_32x32.mat', {'X': X, 'y': y}, do_compression=False)
# Assorted numeric classes (column-major order checked by the test).
scipy.io.savemat(f'{out}/numeric.mat', {
    'a_int16': np.array([[-3, 4, 5], [6, -7, 300]], dtype=np.int16),
    'b_single': np.array([[0.5, -1.25]], dtype=np.float32),
    'c_double': np.arange(24, dtype=np.float64).reshape(2, 3, 4),
    'd_uint32': np.array([[4000000000]], dtype=np.uint32),
}, do_compression=True)
# Unsupported variable kinds: a cell array and a char array.
cell = np.empty((1, 2), dtype=object)
cell[0, 0] = np.array([1.0])
cell[0, 1] = np.array([2.0])
scipy.io.savemat(f'{out}/cell.mat', {'c': cell}, do_compression=True)
scipy.io.savemat(f'{out}/char.mat', {'s': 'hello'})
# SVHN-like file with a wrong X shape (28×28).
scipy.io.savemat(f'{out}/bad_32x32.mat', {'X': X[:28, :28], 'y': y}, do_compression=True)
