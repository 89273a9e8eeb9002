import * as b from '../dist/index.js';
