import { ProtoWriter } from './proto.js';

/** Element types narrownet's graphs use, with their ONNX TensorProto.DataType codes. */
export type OnnxDType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

const DTYPE_CODE: Record<OnnxDType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };

/** A node attribute, tagged with its ONNX type (use the {@link attr} helpers). */
export type OnnxAttr =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'graph'; readonly value: OnnxGraph }
  | { readonly type: 'tensor'; readonly value: OnnxConstant };

/** Helpers that tag attribute values with their ONNX type. */
export const attr = {
  f: (value: number): OnnxAttr => ({ type: 'float', value }),
  i: (value: number): OnnxAttr => ({ type: 'int', value }),
  s: (value: string): OnnxAttr => ({ type: 'string', value }),
  floats: (value: readonly number[]): OnnxAttr => ({ type: 'floats', value }),
  ints: (value: readonly number[]): OnnxAttr => ({ type: 'ints', value }),
  g: (value: OnnxGraph): OnnxAttr => ({ type: 'graph', value }),
  t: (value: OnnxConstant): OnnxAttr => ({ type: 'tensor', value }),
};

/** A constant tensor: dtype, shape and values. */
export interface OnnxConstant {
  readonly dtype: OnnxDType;
  readonly shape: readonly number[];
  readonly values: ArrayLike<number> | ArrayLike<bigint>;
}

interface ValueInfo {
  name: string;
  dtype: OnnxDType;
  /** Dimensions: numbers are fixed, strings are symbolic; undefined means unknown rank. */
  shape?: readonly (number | string)[];
}

interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttr>;
  domain: string;
}

function tensorBytes(c: OnnxConstant): Uint8Array {
  const n = c.values.length;
  switch (c.dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(c.values as ArrayLike<number>).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(c.values as ArrayLike<number>).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(c.values as ArrayLike<number>).buffer);
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(c.values[i] as number | bigint);
      return new Uint8Array(out.buffer);
    }
    case 'bool':
      return Uint8Array.from(c.values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}

function writeTensor(w: ProtoWriter, name: string, c: OnnxConstant): void {
  const size = c.shape.reduce((a, b) => a * b, 1);
  if (size !== c.values.length) {
    throw new RangeError(
      `ONNX constant "${name}": shape [${c.shape.join(', ')}] needs ${size} values, got ${c.values.length}`,
    );
  }
  for (const d of c.shape) w.int(1, d);
  w.int(2, DTYPE_CODE[c.dtype]);
  w.string(8, name);
  w.bytes(9, tensorBytes(c));
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DTYPE_CODE[v.dtype]);
      if (v.shape) {
        tensor.message(2, (shape) => {
          for (const d of v.shape!) {
            shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
          }
        });
      }
    }),
  );
}

/**
 * Builds an ONNX graph op by op, then serialises it to a ModelProto that onnxruntime (or any
 * ONNX consumer) loads. Value names are unique per graph: every generated name starts with the
 * graph's name, so a Loop body (a nested OnnxGraph with another name) never collides with its parent.
 *
 * @example
 * const g = new OnnxGraph('affine');
 * const x = g.input('x', 'float32', ['n', 3]);
 * const w = g.constant({ dtype: 'float32', shape: [3, 1], values: [1, 2, 3] });
 * g.output(g.op('MatMul', [x, w]), 'float32', ['n', 1], 'y');
 * const bytes = g.toModel();
 */
export class OnnxGraph {
  readonly name: string;
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly nodes: NodeDef[] = [];
  private readonly initializers: { name: string; value: OnnxConstant }[] = [];
  private readonly constCache = new Map<string, string>();
  /** Values renamed to public output names at serialisation (see {@link OnnxGraph.output}). */
  private readonly aliases = new Map<string, string>();
  private counter = 0;

  constructor(name: string) {
    if (!/^[A-Za-z_][\w./-]*$/.test(name))
      throw new RangeError(`OnnxGraph: invalid graph name ${JSON.stringify(name)}`);
    this.name = name;
  }

  /** A fresh value name, `<graph>/<hint>_<k>`. */
  fresh(hint = 'v'): string {
    return `${this.name}/${hint}_${this.counter++}`;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, dtype: OnnxDType, shape?: readonly (number | string)[]): string {
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /**
   * Declares `value` as a graph output. With `as`, the output gets that stable public name: a
   * value computed by a node of this graph is renamed where it is produced and used (at
   * serialisation, nested graphs included), so no copy is made; other values (graph inputs,
   * constants, values already renamed) go through an Identity node. The old name stays usable
   * in later `op` calls.
   */
  output(value: string, dtype: OnnxDType, shape?: readonly (number | string)[], as?: string): string {
    let name = value;
    if (as !== undefined && as !== value) {
      const produced = this.nodes.some((n) => n.outputs.includes(value));
      const isOutput = this.outputs.some((o) => o.name === value);
      if (produced && !isOutput && !this.aliases.has(value)) this.aliases.set(value, as);
      else this.nodes.push({ op: 'Identity', inputs: [value], outputs: [as], attrs: {}, domain: '' });
      name = as;
    }
    this.outputs.push({ name, dtype, shape });
    return name;
  }

  /** Adds a constant as an initializer and returns its value name (scalars are cached). */
  constant(value: OnnxConstant, hint = 'const'): string {
    const key =
      value.values.length <= 8
        ? `${value.dtype}|${value.shape.join(',')}|${Array.from(value.values as ArrayLike<number>).join(',')}`
        : null;
    if (key && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh(hint);
    this.initializers.push({ name, value });
    if (key) this.constCache.set(key, name);
    return name;
  }

  /** A float32 scalar constant (shape []). */
  scalar(value: number, dtype: OnnxDType = 'float32'): string {
    return this.constant({ dtype, shape: [], values: [value] }, 'scalar');
  }

  /** An int64 vector constant (axes, shapes, slice bounds). */
  ints(values: readonly number[]): string {
    return this.constant({ dtype: 'int64', shape: [values.length], values }, 'ints');
  }

  /** Adds one node with a single output and returns the output's name. */
  op(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, OnnxAttr> = {},
    outputName?: string,
  ): string {
    const out = outputName ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs: [...inputs], outputs: [out], attrs, domain: '' });
    return out;
  }

  /** Adds one node with several outputs and returns their names. */
  opN(
    op: string,
    inputs: readonly string[],
    outputs: number | readonly string[],
    attrs: Record<string, OnnxAttr> = {},
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()))
        : [...outputs];
    this.nodes.push({ op, inputs: [...inputs], outputs: outs, attrs, domain: '' });
    return outs;
  }

  /**
   * Adds one node of operator `op` from a non-default operator set `domain` (e.g. onnxruntime's
   * `com.microsoft.nchwc`) with a single output and returns the output's name. `toModel` imports
   * every domain used, at version 1.
   */
  domainOp(
    domain: string,
    op: string,
    inputs: readonly string[],
    attrs: Record<string, OnnxAttr> = {},
  ): string {
    if (typeof domain !== 'string' || domain.length === 0 || domain === 'ai.onnx')
      throw new RangeError(
        `OnnxGraph.domainOp: domain must name a non-default operator set, got ${JSON.stringify(domain)}`,
      );
    const out = this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs: [...inputs], outputs: [out], attrs, domain });
    return out;
  }

  /** The non-default operator sets used by this graph's nodes, nested graphs included. */
  private domainsUsed(): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes) {
      if (n.domain) out.add(n.domain);
      for (const a of Object.values(n.attrs))
        if (a.type === 'graph') for (const d of a.value.domainsUsed()) out.add(d);
    }
    return out;
  }

  /**
   * Writes this graph as a GraphProto into `w`. `outer` maps renamed values of enclosing graphs
   * (a Loop body may read them).
   */
  writeGraph(w: ProtoWriter, outer: ReadonlyMap<string, string> = new Map()): void {
    const names = this.aliases.size ? new Map([...outer, ...this.aliases]) : outer;
    const rn = (x: string): string => names.get(x) ?? x;
    for (const node of this.foldScaledAddsIntoGemm()) {
      w.message(1, (nw) => {
        for (const i of node.inputs) nw.string(1, rn(i));
        for (const o of node.outputs) nw.string(2, rn(o));
        nw.string(4, node.op);
        for (const [name, a] of Object.entries(node.attrs))
          nw.message(5, (aw) => writeAttr(aw, name, a, names));
        if (node.domain) nw.string(7, node.domain);
      });
    }
    w.string(2, this.name);
    for (const init of this.initializers) w.message(5, (tw) => writeTensor(tw, init.name, init.value));
    for (const i of this.inputs) w.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of this.outputs) w.message(12, (vw) => writeValueInfo(vw, o));
  }

  /**
   * The nodes with each `Add(Gemm(A, B), Mul(C, s))` (either order; `s` a float32 scalar constant
   * of this graph; the Gemm without a C input or beta; neither intermediate value read elsewhere or
   * a graph output) written as the one node `Gemm(A, B, C, beta = s)` — e.g. a weight gradient
   * plus its L2 weight decay, which then costs no pass over the weights of its own. Gemm adds
   * beta·C broadcast to its [M, N] result, as Add would: where C broadcasts to [M, N] the two
   * forms agree, and onnxruntime rejects the graph otherwise (never a silently different value).
   */
  private foldScaledAddsIntoGemm(): NodeDef[] {
    const uses = new Map<string, number>();
    const count = (x: string): void => {
      uses.set(x, (uses.get(x) ?? 0) + 1);
    };
    for (const n of this.nodes) {
      n.inputs.forEach(count);
      for (const a of Object.values(n.attrs)) if (a.type === 'graph') a.value.valuesRead().forEach(count);
    }
    for (const o of this.outputs) count(o.name);
    for (const a of this.aliases.keys()) count(a);
    const producer = new Map<string, NodeDef>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const scalars = new Map<string, number>();
    for (const i of this.initializers)
      if (i.value.dtype === 'float32' && i.value.shape.length === 0)
        scalars.set(i.name, Number(i.value.values[0]));
    const dropped = new Set<NodeDef>();
    const replaced = new Map<NodeDef, NodeDef>();
    for (const add of this.nodes) {
      if (add.op !== 'Add' || add.inputs.length !== 2 || add.inputs[0] === add.inputs[1]) continue;
      for (const [gi, mi] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const gemm = producer.get(add.inputs[gi]!);
        const mul = producer.get(add.inputs[mi]!);
        if (!gemm || !mul || gemm.op !== 'Gemm' || mul.op !== 'Mul') continue;
        if (gemm.inputs.length !== 2 || 'beta' in gemm.attrs || dropped.has(gemm) || replaced.has(gemm))
          continue;
        if (uses.get(gemm.outputs[0]!) !== 1 || uses.get(mul.outputs[0]!) !== 1 || dropped.has(mul)) continue;
        const si = mul.inputs.findIndex((x) => scalars.has(x));
        if (mul.inputs.length !== 2 || si < 0) continue;
        const beta = scalars.get(mul.inputs[si]!)!;
        replaced.set(gemm, {
          ...gemm,
          inputs: [...gemm.inputs, mul.inputs[1 - si]!],
          outputs: [...add.outputs],
          attrs: { ...gemm.attrs, beta: attr.f(beta) },
        });
        dropped.add(mul);
        dropped.add(add);
        break;
      }
    }
    if (replaced.size === 0) return this.nodes;
    // The Gemm moves to where the Add was, so that C (computed before the Add) is ready.
    const moved = new Map<NodeDef, NodeDef>();
    for (const [gemm, folded] of replaced) {
      const add = this.nodes.find((n) => n.outputs[0] === folded.outputs[0])!;
      moved.set(add, folded);
      dropped.add(gemm);
    }
    const out: NodeDef[] = [];
    for (const n of this.nodes) {
      if (moved.has(n)) out.push(moved.get(n)!);
      else if (!dropped.has(n)) out.push(n);
    }
    return out;
  }

  /** Every value name read by this graph's nodes, nested graphs included (their outer-scope reads). */
  private valuesRead(): string[] {
    const out: string[] = [];
    for (const n of this.nodes) {
      out.push(...n.inputs);
      for (const a of Object.values(n.attrs)) if (a.type === 'graph') out.push(...a.value.valuesRead());
    }
    for (const o of this.outputs) out.push(o.name);
    return out;
  }

  /**
   * Serialises the graph as an ONNX ModelProto (IR version 8, default-domain opset 18, and version 1
   * of every other operator set a node uses).
   */
  toModel(opset = 18): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, 8); // ir_version
    w.string(2, 'narrownet');
    w.string(3, '0.1.0');
    w.message(7, (gw) => this.writeGraph(gw));
    w.message(8, (ow) => {
      ow.string(1, '');
      ow.int(2, opset);
    });
    for (const domain of this.domainsUsed())
      w.message(8, (ow) => {
        ow.string(1, domain);
        ow.int(2, 1);
      });
    return w.finish();
  }
}

function writeAttr(w: ProtoWriter, name: string, a: OnnxAttr, names: ReadonlyMap<string, string>): void {
  w.string(1, name);
  switch (a.type) {
    case 'float':
      w.float32(2, a.value);
      w.int(20, 1);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, 2);
      break;
    case 'string':
      w.string(4, a.value);
      w.int(20, 3);
      break;
    case 'tensor':
      w.message(5, (tw) => writeTensor(tw, `${name}_value`, a.value));
      w.int(20, 4);
      break;
    case 'graph':
      w.message(6, (gw) => a.value.writeGraph(gw, names));
      w.int(20, 5);
      break;
    case 'floats':
      for (const v of a.value) w.float32(7, v);
      w.int(20, 6);
      break;
    case 'ints':
      for (const v of a.value) w.int(8, v);
      w.int(20, 7);
      break;
  }
}
