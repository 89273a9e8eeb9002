import { failedClassificationFields } from '../../classification.js';
import type { Experiment } from '../../sweep/experiment.js';
import { writeResNetReport } from './report.js';
import {
  RESNET_WIDTHS_OPTIONS,
  RESNET_WIDTHS_SCALES,
  type ResNetWidthsSettings,
  validateResNetWidths,
} from './settings.js';
import {
  type ResNetKey,
  type ResNetRecord,
  baseResNetRecord,
  prepareResNetData,
  resnetRuns,
  trainResNetRun,
} from './train.js';

/**
 * Zhang et al. 2021 Sec. 5.2 / App. H.4-H.5 (Fig. 5, 8, 9): ResNet-18 with its final block narrowed, test
 * accuracy vs the final block's width for Alg. 2 per radius ε and for regular SGD, over seeds;
 * one run = arm × final width × ε × seed, on onnxruntime's fused conv step.
 */
export const resnetWidthsExperiment: Experiment<ResNetWidthsSettings, ResNetKey, ResNetRecord> = {
  name: 'resnet-widths',
  title:
    'Zhang et al. 2021 Fig. 5/8: ResNet-18 test accuracy vs final-block width, Alg. 2 per ε vs regular SGD',
  help: `Reproduces Zhang et al. 2021 Sec. 5.2 / App. H.4 (Fig. 8, CIFAR-10/100): ResNet-18 whose final
(4th) block has the listed widths, trained with Alg. 2 on that block (mirrored init, paired head,
‖W₄ − W₄⁰‖_F ≤ ε after every mini-batch) or regular SGD (LeCun init), both SGD 0.1 / momentum 0.9 /
weight decay 5e-4 with cosine annealing, pad-4 crop + flip; test accuracy per cell with error bars
over seeds. Default: a Fashion-MNIST subset padded to 32×32 with every width divided by 16 — it
shows the machinery, not the paper's result. --scale paper: CIFAR-10 (--data cifar100 for the other
panel) from --data-dir (--fetch downloads it), full widths, 600 epochs: a GPU job. R-ImageNet
(Fig. 5/9, App. H.5): --data rimagenet --imagenet-dir <ImageNet folder with train/ and val/>, the
ImageNet layout (7×7/2 stem + max pool), with App. H.2's flags --image-size 224 --epochs 90
--schedule multistep --milestones 30,60,90 --batch-size 256 --radii 0.01,0.1,1,1000 (8-bit images in
memory, random 224 crops of 256×256 + flip per batch, centre crops for testing; --limit-per-class and
--train-n/--test-n bound memory).
Writes runs.jsonl, the figure and report.html.`,
  options: RESNET_WIDTHS_OPTIONS,
  scales: RESNET_WIDTHS_SCALES,
  validate: validateResNetWidths,
  prepare: prepareResNetData,
  expand: resnetRuns,
  train: (runs, ctx) => trainResNetRun(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseResNetRecord(s, run.key),
    ...failedClassificationFields(error, attempts),
  }),
  report: writeResNetReport,
};
