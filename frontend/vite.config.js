import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The build goes to dist/ (git-ignored), which the Python web app serves; `npm run dev`
// forwards the API to a running `fortytwomin-snov serve` on the default port.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:8042' } },
});
