/** One R-ImageNet superclass: its name and the ImageNet-1k class indices it aggregates. */
export interface RImageNetClass {
  /** Superclass name, e.g. 'bird'. */
  readonly name: string;
  /** The five ImageNet-1k class indices (0-based, as in Zhang et al. Table 2). */
  readonly imagenetIndices: readonly number[];
}

/**
 * The 20 R-ImageNet classes of Zhang et al. (2021), App. H.2 Table 2, in table order (the index
 * in this array is the R-ImageNet label), each with the 5 ImageNet-1k indices listed there.
 */
export const R_IMAGENET_CLASSES: readonly RImageNetClass[] = Object.freeze(
  (
    [
      ['bird', [10, 11, 12, 13, 14]],
      ['turtle', [33, 34, 35, 36, 37]],
      ['lizard', [42, 43, 44, 45, 46]],
      ['snake', [60, 61, 62, 63, 64]],
      ['spider', [72, 73, 74, 75, 76]],
      ['crab', [118, 119, 120, 121, 122]],
      ['dog', [205, 206, 207, 208, 209]],
      ['cat', [281, 282, 283, 284, 285]],
      ['bigcat', [289, 290, 291, 292, 293]],
      ['beetle', [302, 303, 304, 305, 306]],
      ['butterfly', [322, 323, 324, 325, 326]],
      ['monkey', [371, 372, 373, 374, 375]],
      ['fish', [393, 394, 395, 396, 397]],
      ['fungus', [992, 993, 994, 995, 996]],
      ['musical-instrument', [402, 420, 486, 546, 594]],
      ['sportsball', [429, 430, 768, 805, 890]],
      ['car-truck', [609, 656, 717, 734, 817]],
      ['train', [466, 547, 565, 820, 829]],
      ['clothing', [474, 617, 834, 841, 869]],
      ['boat', [403, 510, 554, 625, 628]],
    ] as const
  ).map(([name, idx]) => Object.freeze({ name, imagenetIndices: Object.freeze([...idx]) })),
);

/** Maps an ImageNet-1k class index to its R-ImageNet label (index into R_IMAGENET_CLASSES), or −1. */
export function rImageNetLabel(imagenetIndex: number): number {
  return R_IMAGENET_CLASSES.findIndex((c) => c.imagenetIndices.includes(imagenetIndex));
}
