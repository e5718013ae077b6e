/**
 * Variant packages the bench knows. Each registers itself with core when
 * imported; the bench imports those that are installed.
 */
export const VARIANT_PACKAGES: Record<string, string> = {
  vae: '@elbo/vae',
  cvae: '@elbo/cvae',
  vqvae: '@elbo/vqvae',
  hvae: '@elbo/hvae',
  tcvae: '@elbo/tcvae',
};

/** Import every installed variant package; returns the names that loaded. */
export async function loadVariants(): Promise<string[]> {
  const loaded: string[] = [];
  for (const [name, spec] of Object.entries(VARIANT_PACKAGES)) {
    try {
      await import(/* @vite-ignore */ spec);
      loaded.push(name);
    } catch {
      // Not installed in this workspace: the variant is simply unavailable.
    }
  }
  return loaded;
}
