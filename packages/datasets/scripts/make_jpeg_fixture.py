#!/usr/bin/env python3
"""Independent reference for @narrownet/datasets' image-folder loader (decodeImage).

Writes small JPEG files with PIL (an RGB one, a grayscale 'L' one in portrait, a CMYK one: ImageNet
holds grayscale and CMYK JPEGs) and, for each, what PIL + torchvision's evaluation transform make
of it, as a PyTorch ImageNet pipeline does:

- decode: Image.open(f).convert('RGB') (grayscale replicated, CMYK by PIL's formula, an embedded
  ICC profile ignored: the 'rgb-icc' image carries ProPhoto RGB's, from Debian's colord-data);
- Resize(resize): shorter side to `resize`, the longer int(resize * long / short), PIL BILINEAR
  (antialiased), then CenterCrop(size) with offsets int(round((h - size) / 2)) (round half even).

The crops are written out by hand (the code of torchvision.transforms.functional.resize / center_crop
for PIL images) so that the script needs only PIL. Output, arrays as base64 of uint8 HWC:
packages/datasets/test/fixtures/jpeg_pil.json

Run: /usr/bin/python3 packages/datasets/scripts/make_jpeg_fixture.py   (apt-get install -y python3-pil)
"""
import base64
import io
import json
import os

import numpy as np
from PIL import Image
import PIL

ICC = '/usr/share/color/icc/colord/ProPhotoRGB.icc'  # apt-get install -y colord-data
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'jpeg_pil.json')


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode()


def resize_center_crop(img, resize, size):
    w, h = img.size
    if w <= h:
        nw, nh = resize, int(resize * h / w)
    else:
        nw, nh = int(resize * w / h), resize
    r = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    return np.asarray(r)[top:top + size, left:left + size]


def main():
    rng = np.random.default_rng(0)
    h, w = 30, 41
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 6) % 256, (yy * 8) % 256, ((xx + yy) * 4) % 256], -1)
    rgb = np.clip(rgb + rng.integers(-20, 20, rgb.shape), 0, 255).astype(np.uint8)
    images = {
        'rgb': Image.fromarray(rgb),                           # 41 x 30 landscape
        'gray': Image.fromarray(np.ascontiguousarray(rgb[..., 0].T)),  # 30 x 41 portrait, mode L
        'cmyk': Image.fromarray(rgb).convert('CMYK'),
        'rgb-icc': Image.fromarray(rgb[::-1].copy()),
    }
    # (resize, size): no resampling (resize = shorter side: the pure decode, centre crop with a
    # half offset 5.5 -> 6), a downscale whose crop offset 4.5 rounds to 4 (half even), a larger crop.
    crops = [(30, 30), (16, 12), (24, 20)]
    cases = []
    for name, img in images.items():
        buf = io.BytesIO()
        extra = {'icc_profile': open(ICC, 'rb').read()} if name == 'rgb-icc' else {}
        img.save(buf, format='JPEG', quality=90, **extra)
        data = buf.getvalue()
        decoded = Image.open(io.BytesIO(data))
        assert decoded.mode == img.mode, (name, decoded.mode)
        assert ('icc_profile' in decoded.info) == (name == 'rgb-icc')
        rgb_img = decoded.convert('RGB')
        cases.append({
            'name': name, 'mode': decoded.mode, 'width': decoded.size[0], 'height': decoded.size[1],
            'jpeg': base64.b64encode(data).decode(),
            'crops': [{'resize': r, 'size': s, 'pixels': b64(resize_center_crop(rgb_img, r, s))} for r, s in crops],
        })
    meta = {'pil': PIL.__version__, 'script': 'packages/datasets/scripts/make_jpeg_fixture.py',
            'encoding': 'jpeg: base64 of the file; pixels: base64 of uint8 [size, size, 3] HWC'}
    with open(OUT, 'w') as f:
        json.dump({'meta': meta, 'cases': cases}, f)
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
