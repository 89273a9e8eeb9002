// Module-resolution hook for the benchmark scripts: retries an unresolvable extensionless
// specifier with '.js'. Needed because @tensorflow/tfjs-core ships ESM files with extensionless
// relative imports (dist/register_all_gradients.js → './gradients/Abs_grad'), which plain Node ESM
// cannot resolve; @narrownet/regime's build imports that file for tfjs autodiff.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const codes = ['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT'];
    if (!codes.includes(err?.code) || /\.[cm]?js$/.test(specifier)) throw err;
    return nextResolve(`${specifier}.js`, context);
  }
}
