// The Vite configuration of the generated web client; appc regenerates it on every build.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development (`vite`), requests for the server's routes go to the appc server.
const serverUrl = process.env.APPC_SERVER_URL ?? 'http://127.0.0.1:3001';

export default defineConfig({
  // `client.baseDir`: the pages and their assets are served under this prefix (in development
  // too); the server's routes proxied below stay at the root.
  base: {{ base_literal }},
  plugins: [react()],
  resolve: {
    alias: [
      // The generated SDK: `@appc/webSocket`, `@appc/auth`, `@appc/operations`, `@appc/types`.
      { find: /^@appc\//, replacement: fileURLToPath(new URL('./src/appc/', import.meta.url)) },
      // The team's files, copied from the project's `src/`: `@src/client/MainPage`.
      { find: /^@src\//, replacement: fileURLToPath(new URL('./src/ext-src/', import.meta.url)) },
    ],
  },
  build: {
    // `<project>/.appc/build/web`, which the server binary serves (with `index.html` for
    // every path that is not a file, so the client's routes work on reload).
    outDir: '../../build/web',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/auth': serverUrl,
      '/operations': serverUrl,
      '/api': serverUrl,
      '/socket.io': { target: serverUrl, ws: true },
{%- for pattern in api_route_patterns %}
      // An api outside `/api`.
      {{ pattern }}: serverUrl,
{%- endfor %}
    },
  },
});
