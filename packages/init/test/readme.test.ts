// Every ```ts block of README.md runs, and the packed tarball holds what the README links to.
import { readmeTests } from '../../../tooling/readme-test.mjs';

readmeTests(import.meta.url);
