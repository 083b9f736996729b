# HTTP targets (src/http/http_target.cpp) through a real bus, against a local server that fails on
# purpose (target_test_server.hpp); also the target's private rate limiter and Retry-After parser,
# hence src/ on the include path and libcurl (the parser uses curl_getdate).
switchyard_http_test(test_http_target SOURCES http_target_test.cpp LABELS concurrency)
target_include_directories(test_http_target PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_http_target PRIVATE CURL::libcurl)
# The local server speaks HTTPS too, with a certificate it makes (OpenSSL).
find_package(OpenSSL REQUIRED)
target_link_libraries(test_http_target PRIVATE OpenSSL::SSL OpenSSL::Crypto)
