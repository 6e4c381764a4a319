# Stand-ins for the official node:20-bookworm and node:20-bookworm-slim images, which no registry here
# can serve. Both put Node where the official images do (/usr/local: bin/node, bin/npm, include/node, the
# headers node-gyp needs) and add user `node` (uid 1000) as they do; docker/Dockerfile relies on both.
# DEBIAN_IMAGE is a bookworm root file system made by mmdebstrap and `docker import`ed
# (test/docker/base-images.ts); the context holds node/ (a copy of the machine's Node 20) and npm-cache/.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS node
COPY node/ /usr/local/
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]

# The build base: `npm ci` in docker/Dockerfile finds every package of the lockfile in root's npm cache,
# and npm_config_offline makes it fail rather than reach for a registry.
FROM node AS node-offline-npm
COPY npm-cache/ /root/.npm/
ENV npm_config_offline=true
