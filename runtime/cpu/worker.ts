// The entry of a CPU-backend worker in a browser (a module Web Worker): serve kernels with the first message's init.

import type { WorkerInit } from './threads.js';
import { serveKernels } from './threads.js';

const scope = globalThis as unknown as { addEventListener(type: 'message', listener: (e: { data: WorkerInit }) => void, options: { once: boolean }): void };
scope.addEventListener('message', (e) => serveKernels(e.data), { once: true });
