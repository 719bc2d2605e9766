// The one place that imports TensorFlow.js for the tests and benchmarks, so scripts
// outside tests/ (bench/) resolve it from tests/node_modules.
import * as tf from '@tensorflow/tfjs';

export { tf };

// Registers the wasm backend (@tensorflow/tfjs-backend-wasm, same version) on demand.
export async function importWasmBackend() {
  await import('@tensorflow/tfjs-backend-wasm');
}
