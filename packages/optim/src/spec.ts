/**
 * Optimizer pieces as plain, JSON-serialisable data. Each is specified once here and lowered
 * to every engine (host float32 reference, tfjs, ONNX); tests check the lowerings agree.
 */

/** Update rule of one parameter group (PyTorch semantics). */
export type UpdateSpec =
  | {
      readonly kind: 'sgd';
      /** Heavy-ball momentum μ (PyTorch SGD: b ← μ b + (1 − dampening) g; p ← p − lr·b). Default 0. */
      readonly momentum?: number;
      readonly dampening?: number;
      /** Nesterov momentum (PyTorch: g ← g + μ b). Default false. */
      readonly nesterov?: boolean;
      /** L2 weight decay added to the gradient (PyTorch SGD weight_decay). Default 0. */
      readonly weightDecay?: number;
    }
  | {
      readonly kind: 'adam' | 'adamw';
      readonly beta1?: number;
      readonly beta2?: number;
      readonly eps?: number;
      /** adam: L2 added to the gradient; adamw: decoupled decay p ← p − lr·wd·p. */
      readonly weightDecay?: number;
    };

/**
 * Step-size schedule; the step size at step t is lr · factor(t). With `stepsPerEpoch` set, `tMax`
 * and `milestones` count EPOCHS of that many optimizer steps and the factor is constant within an
 * epoch: factor(t) = factor_epochs(⌊t / stepsPerEpoch⌋), exactly PyTorch's scheduler stepped once
 * per epoch (see `epochSchedule` to build one, and `stepsPerEpoch` for ⌊n / batch⌋).
 */
export type ScheduleSpec =
  | { readonly kind: 'constant' }
  /** Cosine annealing from lr to etaMin over tMax steps or epochs (PyTorch CosineAnnealingLR). */
  | {
      readonly kind: 'cosine';
      readonly tMax: number;
      readonly etaMin?: number;
      /** Optimizer steps per epoch: tMax then counts epochs (scheduler stepped per epoch). */
      readonly stepsPerEpoch?: number;
    }
  /** Multiply by gamma (default 0.1) at each milestone step or epoch (PyTorch MultiStepLR). */
  | {
      readonly kind: 'multistep';
      readonly milestones: readonly number[];
      readonly gamma?: number;
      /** Optimizer steps per epoch: milestones then count epochs (scheduler stepped per epoch). */
      readonly stepsPerEpoch?: number;
    };

/** Feasible set a group is projected onto after each update. */
export type ProjectionSpec =
  | { readonly kind: 'none' }
  /**
   * Frobenius ball ‖θ − θ0‖_F ≤ radius around the anchor θ0 (the group's value at init unless
   * given). With several parameters in the group the ball is joint over all of them.
   */
  | { readonly kind: 'frobeniusBall'; readonly radius: number }
  /**
   * B_{ζ,κ} = {v ≥ ζ·1, v_j/v_j' ≤ κ} (Zhang et al. eq. 7). `exact`: Euclidean projection;
   * `paperHeuristic`: App. H.1's projectv (moves only argmin/argmax entries).
   */
  | {
      readonly kind: 'zetaKappa';
      readonly zeta: number;
      readonly kappa: number;
      readonly method: 'exact' | 'paperHeuristic';
      /**
       * How B_{ζ,κ} applies to a matrix. `true`: each row (each slice along the last axis; a
       * vector is one row) of every tensor of the group is its own v ∈ B_{ζ,κ} — for the head
       * V [k, m/2] of a `pairedMlp`, the constraint of eq. (7) on each class's outer weights
       * V_c, the feasible set being the product of k sets B_{ζ,κ} (whose Euclidean projection is
       * the row-wise one). Default false: all entries of the group form one vector v (`exact`)
       * or each tensor does (`paperHeuristic`).
       */
      readonly perRow?: boolean;
    }
  /** Elementwise box lo ≤ θ ≤ hi. */
  | { readonly kind: 'box'; readonly lo: number; readonly hi: number };

/** One parameter group: which parameters, how they move, where they may go. */
export interface GroupSpec {
  /** Parameter names (keys of the model's parameter tree). */
  readonly params: readonly string[];
  /** Base step size; 0 freezes the group. */
  readonly lr: number;
  readonly update: UpdateSpec;
  readonly schedule?: ScheduleSpec;
  readonly projection?: ProjectionSpec;
}

/** A whole optimizer: its groups (every trainable parameter in exactly one group). */
export interface OptimizerSpec {
  readonly groups: readonly GroupSpec[];
}
