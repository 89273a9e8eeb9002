// One live training run of the page: settings → regime, data, init and an ONNX trainer; advanced
// in chunks so the page can draw, stop and resume between them. Shared by the page, its browser
// test (which builds the same run on onnxruntime-node) and the benchmark.
import { zhangSynthetic } from '@narrownet/datasets';
import { initParams } from '@narrownet/init';
import { jacobianLambdaMin } from '@narrownet/landscape';
import { type ParamTree, createRng } from '@narrownet/models';
import {
  type OnnxEngineLike,
  type RegimeSpec,
  type Trainer,
  type TrainerConfig,
  constrainedRegular,
  createOnnxTrainer,
  regular,
  zhang2021,
} from '@narrownet/regime';

/** The regimes the page offers. */
export const REGIMES = ['zhang2021', 'regular', 'constrainedRegular'] as const;
/** A regime the page offers: Alg. 2, regular training, or the ball ablation of Fig. 4(b). */
export type PageRegime = (typeof REGIMES)[number];

/** What the page's form sets. */
export interface PageSettings {
  regime: PageRegime;
  /** Zhang et al. Sec. 5.1 synthetic data: n points on the unit sphere in R^d, y = (1ᵀx)². */
  n: number;
  d: number;
  /** Hidden width m (even for Alg. 2's paired net). */
  width: number;
  /** ε: radius of the ball ‖W − W0‖_F ≤ ε (Alg. 2 and the ablation; unused by `regular`). */
  radius: number;
  lr1: number;
  lr2: number;
  momentum: number;
  /** Step budget. */
  steps: number;
  /** Optimizer steps per onnxruntime call (the fused Loop graph). */
  stepsPerCall: number;
  /** Seed of the data and of the init. */
  seed: number;
}

/** Laptop-size defaults: n = 200, d = 20, m = 40 (≥ 2n/d = 20, Zhang et al.'s width condition). */
export const DEFAULTS: PageSettings = {
  regime: 'zhang2021',
  n: 200,
  d: 20,
  width: 40,
  radius: 10,
  lr1: 0.0005,
  lr2: 0.0005,
  momentum: 0.9,
  steps: 2000,
  stepsPerCall: 10,
  seed: 0,
};

function positiveInt(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

/** The regime, data and initial parameters of a run (seeded: the same in every runtime). */
export function runConfig(s: PageSettings): { regime: RegimeSpec; config: TrainerConfig } {
  if (!REGIMES.includes(s.regime)) throw new RangeError(`regime must be one of ${REGIMES.join(', ')}`);
  for (const k of ['n', 'd', 'width', 'steps', 'stepsPerCall'] as const) positiveInt(s[k], k);
  const shallow = {
    inputDim: s.d,
    width: s.width,
    lr1: s.lr1,
    lr2: s.lr2,
    momentum: s.momentum,
    steps: s.steps,
  };
  const regime =
    s.regime === 'zhang2021'
      ? zhang2021({ ...shallow, radius: s.radius })
      : s.regime === 'constrainedRegular'
        ? constrainedRegular({ ...shallow, radius: s.radius })
        : regular(shallow);
  const data = zhangSynthetic({ n: s.n, d: s.d, seed: s.seed });
  const params = initParams(regime.model, regime.init, createRng(s.seed + 1));
  return {
    regime,
    config: {
      spec: regime.model,
      loss: regime.loss,
      optimizer: regime.optimizer,
      params,
      data: { X: data.X, Y: data.Y, n: data.n },
    },
  };
}

/** One point of a run's history. */
export interface HistoryPoint {
  step: number;
  loss: number;
  /** ‖W − W0‖_F. */
  distance: number;
}

function frobeniusDistance(a: ParamTree, b: ParamTree, name: string): number {
  const x = a[name]!.data;
  const y = b[name]!.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - y[i]!) ** 2;
  return Math.sqrt(s);
}

/** A run that advances in chunks; stop/resume is simply not calling / calling `advance` again. */
export class LiveRun {
  readonly history: HistoryPoint[] = [];
  step = 0;

  private constructor(
    readonly settings: PageSettings,
    readonly regime: RegimeSpec,
    readonly config: TrainerConfig,
    readonly trainer: Trainer,
  ) {}

  /** Builds the run's trainer on an onnxruntime engine (onnxruntime-web in the page). */
  static async create(engine: OnnxEngineLike, settings: PageSettings): Promise<LiveRun> {
    const { regime, config } = runConfig(settings);
    const trainer = await createOnnxTrainer(engine, config, { stepsPerCall: settings.stepsPerCall });
    const run = new LiveRun(settings, regime, config, trainer);
    const loss = (await trainer.evaluate()).loss;
    run.history.push({ step: 0, loss, distance: 0 });
    return run;
  }

  /** Whether the step budget is used up or the loss left the finite range. */
  get finished(): boolean {
    const last = this.history[this.history.length - 1]!;
    return this.step >= this.settings.steps || !Number.isFinite(last.loss);
  }

  /** Runs up to `stepsPerCall` steps (fewer at the end of the budget) and records loss and ‖W − W0‖_F. */
  async advance(): Promise<HistoryPoint> {
    const count = Math.min(this.settings.stepsPerCall, this.settings.steps - this.step);
    const loss = await this.trainer.run(count);
    this.step += count;
    const state = await this.trainer.state();
    const point = {
      step: this.step,
      loss,
      distance: frobeniusDistance(state.params, this.config.params, 'W'),
    };
    this.history.push(point);
    return point;
  }

  /** λ_min of the Jacobian J(W; v) of Zhang et al. eq. (3) at the current iterate (float64, host). */
  async lambdaMin(): Promise<number> {
    const state = await this.trainer.state();
    return jacobianLambdaMin(this.regime.model, state.params, this.config.data.X, this.config.data.n);
  }

  dispose(): Promise<void> {
    return this.trainer.dispose();
  }
}
