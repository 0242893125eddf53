import { describe, expect, it } from 'vitest';
import { imageSizesFile, parseImageSizes } from './image-sizes.ts';

describe('image sizes recorded by hack/images.sh', () => {
  it('reads each image in megabytes with the time of the build', () => {
    const text = JSON.stringify({ builtAt: '2026-12-07T13:40:00Z', images: [{ image: 'registry.local/attested-inference-proxy:0.1.0', bytes: 143_200_000 }, { image: 'x', bytes: 0 }, { bytes: 5 }] });
    expect(parseImageSizes(text)).toEqual([{ image: 'registry.local/attested-inference-proxy:0.1.0', megabytes: 143.2, builtAt: '2026-12-07T13:40:00Z' }]);
  });
  it('reads nothing from a record without its build time', () => {
    expect(parseImageSizes(JSON.stringify({ images: [{ image: 'a', bytes: 1 }] }))).toEqual([]);
  });
  it('finds the record in the cache folder hack/images.sh uses', () => {
    expect(imageSizesFile({ AIO_CACHE_DIR: '/c' })).toBe('/c/images/image-sizes.json');
    expect(imageSizesFile({ XDG_CACHE_HOME: '/x' })).toBe('/x/attested-inference-operator/images/image-sizes.json');
  });
});
