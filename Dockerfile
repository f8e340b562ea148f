# beltline's image: every role (`beltline start --role collector|bridge|worker [--belt NAME]`) and
# `beltline migrate`, as deploy/helm/beltline and docker-compose.yml's `roles` profile run them.
#   docker build -t beltline:0.1.0 .
# The entrypoint is the CLI: `docker run beltline:0.1.0 start --role collector`.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# isolated-vm compiles here: this image has python3, make and g++.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# python3 runs Python belts (the pool confines them with Landlock and seccomp; see docs/definitions.md).
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Everything the build left: dist/ with the workflow bundle and the console, migrations/, schemas/,
# the Python pool's sources under src/belts/python, examples/ and the production node_modules.
COPY --from=build /app /app
ENV BELTLINE_HTTP_HOST=0.0.0.0 \
    BELTLINE_HOME=/tmp/beltline
USER node
EXPOSE 8080
ENTRYPOINT ["/app/bin/beltline"]
CMD ["start", "--role", "all"]
