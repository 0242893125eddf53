import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** ImageSize is one image hack/images.sh built and smoke-tested, as `docker image inspect` sized it. */
export interface ImageSize {
  readonly image: string;
  readonly megabytes: number;
  /** builtAt is when hack/images.sh recorded it (ISO 8601). */
  readonly builtAt: string;
}

/** imageSizesFile is where hack/images.sh records the sizes: its cache folder, `image-sizes.json`. */
export function imageSizesFile(env: NodeJS.ProcessEnv): string {
  const cache = env.AIO_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'attested-inference-operator');
  return join(cache, 'images', 'image-sizes.json');
}

/** parseImageSizes reads hack/images.sh's record; anything else is no sizes at all. */
export function parseImageSizes(text: string): ImageSize[] {
  const raw = JSON.parse(text) as { builtAt?: unknown; images?: unknown };
  if (typeof raw.builtAt !== 'string' || !Array.isArray(raw.images)) return [];
  const builtAt = raw.builtAt;
  return (raw.images as { image?: unknown; bytes?: unknown }[])
    .filter((i): i is { image: string; bytes: number } => typeof i.image === 'string' && typeof i.bytes === 'number' && i.bytes > 0)
    .map((i) => ({ image: i.image, megabytes: i.bytes / 1e6, builtAt }));
}

/** readImageSizes is the last hack/images.sh run's sizes, or none when it never ran here. */
export function readImageSizes(env: NodeJS.ProcessEnv = process.env): ImageSize[] {
  try {
    return parseImageSizes(readFileSync(imageSizesFile(env), 'utf8'));
  } catch {
    return [];
  }
}
