// Minimal protocol-buffers writer for the subset of onnx.proto that narrownet emits
// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto).
// Field numbers follow onnx/onnx.proto (IR version 8).

/** Growable byte buffer with protobuf field writers. Large payloads are kept as chunks. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.slice(0, this.pos));
      this.pos = 0;
    }
  }

  get length(): number {
    return this.chunks.reduce((s, c) => s + c.length, 0) + this.pos;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float32(field: number, value: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length > 4096) {
      this.flush();
      this.chunks.push(data);
    } else {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.tag(field, 2);
    this.varint(inner.length);
    this.flush();
    this.chunks.push(...inner.finishChunks());
  }

  private finishChunks(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  finish(): Uint8Array {
    const chunks = this.finishChunks();
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
