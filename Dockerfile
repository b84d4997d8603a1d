# Release build of the `kartel` binary, then a slim runtime image. The
# dependencies are built in their own layer (cargo-chef): a change of our
# source rebuilds only our crates.
FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=plan /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p kartel-api --bin kartel
COPY . .
RUN cargo build --release --locked -p kartel-api --bin kartel

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data kartel && mkdir -p /data && chown kartel /data
COPY --from=build /src/target/release/kartel /usr/local/bin/kartel
USER kartel
WORKDIR /data
ENV KARTEL_ADDR=0.0.0.0:8080 \
    KARTEL_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["kartel"]
CMD ["serve"]
