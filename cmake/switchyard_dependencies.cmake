# Dependencies: the installed package first (find_package), FetchContent only as a fallback,
# pinned by URL and SHA-256 so a build is reproducible wherever it fetches.
include(FetchContent)
include(GNUInstallDirs)

# nlohmann/json and fmt are needed by every consumer of switchyard::core.
FetchContent_Declare(nlohmann_json
  URL https://github.com/nlohmann/json/releases/download/v3.11.3/json.tar.xz
  URL_HASH SHA256=d6c65aca6b1ed68e7a182f4757257b107ae403032760ed6ef121c9d55e81757d
  FIND_PACKAGE_ARGS 3.11)
FetchContent_Declare(fmt
  URL https://github.com/fmtlib/fmt/releases/download/10.2.1/fmt-10.2.1.zip
  URL_HASH SHA256=312151a2d13c8327f5c9c586ac6cf7cddc1658e8f53edae0ec56509c8fa516c9
  FIND_PACKAGE_ARGS 9)
FetchContent_MakeAvailable(nlohmann_json fmt)
