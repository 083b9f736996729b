# The PutEvents ingress (src/http/ingress.cpp): the protocol and limits against a raw client, and
# the AWS CLI and boto3 against ingress_server.

# The C++ tests speak HTTP with Beast themselves and reach the private protocol layer
# (src/http/ingress_protocol.hpp, sigv4.hpp). "concurrency": the many-clients and stop tests.
switchyard_http_test(test_ingress SOURCES ingress_test.cpp LABELS concurrency)
target_include_directories(test_ingress PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_ingress PRIVATE Boost::headers Threads::Threads)

# A server for the real clients: SigV4 (AKIDEXAMPLE), buses "orders" and "audit"; prints
# `PORT <n>`, and on stdin's end a summary of what it delivered.
add_executable(ingress_server ingress_server_main.cpp)
target_link_libraries(ingress_server PRIVATE switchyard::http switchyard::core switchyard_dev_warnings)

# The AWS CLI (Debian's /usr/bin/aws) and boto3 (/usr/bin/python3) against ingress_server. The
# script exits 77 (skipped) when either is missing; CI has both.
add_test(NAME ingress_aws_clients
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/aws_clients_test.py $<TARGET_FILE:ingress_server>)
set_tests_properties(ingress_aws_clients PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
