#!/usr/bin/env python3
"""Writes an independent safetensors fixture for @narrownet/models' tests.

The file is built FROM THE FORMAT SPEC with struct + json (not the `safetensors` library):
8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header (space padded), then the
little-endian data buffer, offsets relative to its start. Tensors come from PyTorch with a fixed
seed. Outputs, in packages/models/test/fixtures/:

  paired_torch.safetensors      a paired net (Zhang eq. 6: W [6, 3], v [3]) plus extra tensors in
                                F64, F16, BF16, I32 and I64; the header lists tensors in an order
                                different from their order in the buffer
  paired_torch.json             the narrownet checkpoint JSON for it (sha256 per tensor by hashlib)
  paired_torch.expected.json    every tensor's dtype, shape and values (float64, exactly the values
                                stored), and the paired net's outputs on a small X computed by torch
                                in float64

Run: /usr/bin/python3 packages/models/scripts/make_safetensors_fixture.py
"""
import hashlib
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
          torch.int32: 'I32', torch.int64: 'I64'}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        t = t.view(torch.int16)
    data = t.numpy().tobytes()
    assert struct.pack('<H', 1) == struct.pack('=H', 1), 'script assumes a little-endian host'
    return data


def main():
    torch.manual_seed(20210)
    tensors = {
        'W': torch.randn(6, 3, dtype=torch.float32),
        'v': torch.randn(3, dtype=torch.float32),
        'aux64': torch.randn(2, 2, dtype=torch.float64),
        'aux16': torch.tensor([0.5, -1.25, 65504.0, 2.0 ** -24, 0.1], dtype=torch.float16),
        'auxbf16': torch.tensor([1.0, -3.140625, 0.1, 1e30], dtype=torch.bfloat16),
        'auxi32': torch.tensor([[-7, 0], [123456, 2 ** 31 - 1]], dtype=torch.int32),
        'auxi64': torch.tensor([-(2 ** 40), 5, 0], dtype=torch.int64),
        'scalar': torch.tensor(2.5, dtype=torch.float32),
    }
    # Buffer order differs from header order (the reader must sort by offset).
    buffer_order = ['v', 'aux16', 'W', 'auxi64', 'scalar', 'aux64', 'auxbf16', 'auxi32']
    header_order = ['W', 'v', 'aux64', 'aux16', 'auxbf16', 'auxi32', 'auxi64', 'scalar']
    offsets, chunks, pos = {}, [], 0
    for name in buffer_order:
        b = raw_bytes(tensors[name])
        offsets[name] = [pos, pos + len(b)]
        chunks.append(b)
        pos += len(b)
    header = {'__metadata__': {'format': 'pt', 'producer': 'make_safetensors_fixture.py'}}
    for name in header_order:
        t = tensors[name]
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': offsets[name]}
    hbytes = json.dumps(header).encode('utf-8')
    hbytes += b' ' * ((8 - len(hbytes) % 8) % 8)
    blob = struct.pack('<Q', len(hbytes)) + hbytes + b''.join(chunks)
    with open(os.path.join(OUT, 'paired_torch.safetensors'), 'wb') as f:
        f.write(blob)

    extra = [n for n in header_order if n not in ('W', 'v')]
    ckpt = {
        'format': 'narrownet-checkpoint',
        'version': 1,
        'spec': {'kind': 'paired', 'inputDim': 3, 'width': 6, 'activation': 'tanh'},
        'params': {'W': [6, 3], 'v': [3]},
        'extra': {n: list(tensors[n].shape) for n in extra},
        'sha256': {n: hashlib.sha256(raw_bytes(tensors[n])).hexdigest() for n in header_order},
        'state': {'step': 7, 'note': 'written by make_safetensors_fixture.py'},
        'createdAt': '2021-01-01T00:00:00.000Z',
    }
    with open(os.path.join(OUT, 'paired_torch.json'), 'w') as f:
        json.dump(ckpt, f, indent=2)
        f.write('\n')

    # Paired net outputs f(x) = sum_j v_j (tanh(w_j.x) - tanh(w_{j+3}.x)) in float64.
    X = torch.tensor([[0.3, -1.2, 0.7], [1.5, 0.2, -0.4]], dtype=torch.float64)
    W = tensors['W'].double()
    v = tensors['v'].double()
    h = torch.tanh(X @ W.T)
    y = (h[:, :3] - h[:, 3:]) @ v
    expected = {
        'tensors': {n: {'dtype': DTYPES[t.dtype], 'shape': list(t.shape),
                        'values': t.double().reshape(-1).tolist()} for n, t in tensors.items()},
        'metadata': header['__metadata__'],
        'X': X.reshape(-1).tolist(),
        'n': 2,
        'y': y.tolist(),
    }
    with open(os.path.join(OUT, 'paired_torch.expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
