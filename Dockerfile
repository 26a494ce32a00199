# drover as an image: the manager and the node agent (`drover agent`), one image for both.
#
#   docker build -t drover:dev .
#   docker run --rm drover:dev version
#   docker run -d -p 127.0.0.1:8000:8000 -v drover-data:/var/lib/drover drover:dev manager --listen 0.0.0.0:8000 --data-dir /var/lib/drover
#
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step, and no
# dev dependency (typescript, jest, @types/*) is installed.
#
# The image runs as root. A node agent with the Docker runtime talks to the host's engine through
# the mounted /var/run/docker.sock, which is root:docker on the host, and whatever can use that
# socket is root on the host anyway: a non-root user inside this image would add nothing but a
# group id that must match the host's docker group. The manager needs no privilege (it only serves
# HTTP and writes its data dir); run it with `--user` if you like, with a data volume it can write.
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=ExperimentalWarning

WORKDIR /app

# Dependencies first: this layer stays cached until package.json or the lock file change.
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error \
 && npm cache clean --force

# What runs: the CLI and everything it loads (crds/ for validation, manifests/ for `drover up`).
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY api ./api
COPY store ./store
COPY controllers ./controllers
COPY reconcilers ./reconcilers
COPY agent ./agent
COPY crds ./crds
COPY manifests ./manifests

# `drover …` on PATH (bin/drover finds this image's node, which is Node 24).
RUN ln -s /app/bin/drover /usr/local/bin/drover \
 && mkdir -p /var/lib/drover /var/lib/drover-agent

# The manager's API port (it listens where --listen says; 0.0.0.0:8000 in a container).
EXPOSE 8000

ENTRYPOINT ["node", "/app/cli/main.ts"]
CMD ["--help"]
