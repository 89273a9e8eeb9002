import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What a shared library's dynamic section says about its own linking. */
export interface ElfDynamicInfo {
  /** DT_NEEDED entries: the sonames the library links against, in order. */
  needed: string[];
  /** DT_SONAME, when present. */
  soname?: string;
  /** DT_RUNPATH (or the older DT_RPATH) search path, `:`-separated, as written (e.g. `$ORIGIN`). */
  runpath?: string;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/**
 * Reads the dynamic section of an ELF shared library without loading it: DT_NEEDED, DT_SONAME
 * and DT_RUNPATH, as `readelf -d` prints them. Reads only the headers and the few pages it needs.
 * Tested on 64-bit little-endian files (x86-64, the platform of onnxruntime-node's CUDA build);
 * the 32-bit and big-endian layouts are decoded by the same code but untested. Throws an Error naming the file when it is not an ELF
 * file or has no dynamic section.
 */
export function readElfDynamic(path: string): ElfDynamicInfo {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number): DataView => {
      if (offset < 0 || offset + length > size)
        throw new Error(
          `${path}: truncated ELF file (wanted bytes ${offset}..${offset + length} of ${size})`,
        );
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      return new DataView(buf.buffer, buf.byteOffset, length);
    };
    const ident = read(0, 16);
    if (ident.getUint32(0, false) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    const is64 = ident.getUint8(4) === 2;
    const le = ident.getUint8(5) === 1;
    const word = (v: DataView, at: number): number =>
      is64 ? Number(v.getBigUint64(at, le)) : v.getUint32(at, le);
    const head = read(0, is64 ? 64 : 52);
    const phoff = word(head, is64 ? 0x20 : 0x1c);
    const phentsize = head.getUint16(is64 ? 0x36 : 0x2a, le);
    const phnum = head.getUint16(is64 ? 0x38 : 0x2c, le);
    const loads: { offset: number; vaddr: number; filesz: number }[] = [];
    let dynamic: { offset: number; filesz: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const ph = read(phoff + i * phentsize, phentsize);
      const type = ph.getUint32(0, le);
      const offset = word(ph, is64 ? 8 : 4);
      const vaddr = word(ph, is64 ? 16 : 8);
      const filesz = word(ph, is64 ? 32 : 16);
      if (type === PT_LOAD) loads.push({ offset, vaddr, filesz });
      else if (type === PT_DYNAMIC) dynamic = { offset, filesz };
    }
    if (!dynamic) throw new Error(`${path}: no dynamic section (a static executable?)`);
    const entry = is64 ? 16 : 8;
    const dyn = read(dynamic.offset, dynamic.filesz);
    const tags: [number, number][] = [];
    for (let at = 0; at + entry <= dynamic.filesz; at += entry) {
      const tag = word(dyn, at);
      if (tag === 0) break;
      tags.push([tag, word(dyn, at + entry / 2)]);
    }
    const strtab = tags.find(([t]) => t === DT_STRTAB)?.[1];
    if (strtab === undefined) throw new Error(`${path}: dynamic section without a string table`);
    const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    if (!seg)
      throw new Error(`${path}: string table address 0x${strtab.toString(16)} is in no loaded segment`);
    const strOffset = seg.offset + (strtab - seg.vaddr);
    const str = (at: number): string => {
      const bytes: number[] = [];
      for (let p = strOffset + at; ; p += 64) {
        const chunk = read(p, Math.min(64, size - p));
        for (let i = 0; i < chunk.byteLength; i++) {
          const b = chunk.getUint8(i);
          if (b === 0) return Buffer.from(bytes).toString('utf8');
          bytes.push(b);
        }
        if (chunk.byteLength < 64) throw new Error(`${path}: unterminated string in the string table`);
      }
    };
    const info: ElfDynamicInfo = { needed: [] };
    for (const [tag, val] of tags) {
      if (tag === DT_NEEDED) info.needed.push(str(val));
      else if (tag === DT_SONAME) info.soname = str(val);
      else if (tag === DT_RUNPATH || (tag === DT_RPATH && info.runpath === undefined))
        info.runpath = str(val);
    }
    return info;
  } finally {
    closeSync(fd);
  }
}
