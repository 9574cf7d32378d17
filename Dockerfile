# Im.Host as a container image. Build from the repository root:
#   docker build -t imakka/im-host .
# docker-compose.yml builds it for you (redis + two clustered hosts).

# ---- build ------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Restore first, from nothing but the files that decide the package graph (central package
# management: global.json, Directory.*.props, the solution and the src csproj files), so this
# layer stays cached until a dependency changes. Only Im.Host and what it references are restored:
# the image needs no test project. .editorconfig comes along because the src projects enforce its
# code style as errors in the build.
COPY global.json Directory.Build.props Directory.Packages.props ImAkka.sln .editorconfig ./
COPY src/Im.Contracts/Im.Contracts.csproj src/Im.Contracts/
COPY src/Im.Actors/Im.Actors.csproj src/Im.Actors/
COPY src/Im.Host/Im.Host.csproj src/Im.Host/
RUN dotnet restore src/Im.Host/Im.Host.csproj

# Then the sources, and publish.
COPY src/ src/
RUN dotnet publish src/Im.Host/Im.Host.csproj -c Release --no-restore -o /out

# ---- runtime ----------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime

# Health checks call GET /health/ready with curl: `curl -f` turns any non-2xx answer (503 while the
# node is not yet a cluster member or Redis is unreachable) into a failing exit code, it gives a
# real HTTP client with a timeout, and it is what an operator reaches for inside the container.
# The alternative, bash's /dev/tcp with a hand-written HTTP/1.0 request, saves ~1 MB but is
# fragile (no timeout of its own, status line parsed by hand). The aspnet image ships neither curl
# nor wget, hence the install.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=build /out ./

# The embedded store (used only when ConnectionStrings__Redis is unset) keeps its files here; the
# image runs as the non-root `app` user the .NET images provide, which must own it.
RUN mkdir -p /var/lib/im && chown "$APP_UID" /var/lib/im
ENV Im__DataDir=/var/lib/im \
    ASPNETCORE_URLS=http://0.0.0.0:8000 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
# Remoting (Akka__Hostname, Akka__PublicHostname, Akka__Port = 4053, Akka__SeedNodes__N) is set per
# node by whoever runs the container; docker-compose.yml shows how. Unset, the node is a cluster of one.

# 8000: HTTP and WebSocket. 4053: Akka.Remote, between cluster nodes only (do not publish it).
EXPOSE 8000 4053
USER $APP_UID

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8000/health/ready || exit 1

ENTRYPOINT ["dotnet", "Im.Host.dll"]
