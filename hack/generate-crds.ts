// Writes the CustomResourceDefinitions generated from their TypeScript schemas into crds/.
// With --check it writes nothing and fails when a committed file differs from what it would write.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CRD_FILE, crdYaml } from '../operator/api/v1alpha1/crd.ts';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const path = join(root, CRD_FILE);
const wanted = crdYaml();

if (check) {
  const committed = await readFile(path, 'utf8').catch(() => '');
  if (committed !== wanted) {
    console.error(`${CRD_FILE} is stale; run: node hack/generate-crds.ts`);
    process.exitCode = 1;
  }
} else {
  await writeFile(path, wanted);
  console.log(`wrote ${CRD_FILE}`);
}
