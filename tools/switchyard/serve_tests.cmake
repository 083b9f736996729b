# `switchyard serve`: the local EventBridge. Included from CMakeLists.txt's test block, after
# switchyard_cli_test() is defined.
if(WIN32)
  return()  # serve waits for POSIX signals: on Windows it only says it is not available
endif()
if(NOT TARGET switchyard::http)
  switchyard_cli_test(serve_without_http 2 STDOUT "" STDERR "built without HTTP support"
    ARGS serve --port 0 --rules ${cli_data}/serve/pattern_text.jsonl)
  return()
endif()

set(serve_data ${cli_data}/serve)
# Arguments: each mistake exits 2 with a one-line message before anything listens.
switchyard_cli_test(serve_usage 2 STDOUT "" STDERR "^switchyard: usage: switchyard serve --port P --rules FILE"
  ARGS serve)
switchyard_cli_test(serve_missing_rules 2 STDOUT "" STDERR "usage: switchyard serve --port P --rules FILE"
  ARGS serve --port 0)
switchyard_cli_test(serve_missing_port 2 STDOUT "" STDERR "usage: switchyard serve --port P --rules FILE"
  ARGS serve --rules ${serve_data}/pattern_text.jsonl)
switchyard_cli_test(serve_port_needs_value 2 STDOUT "" STDERR "--port needs a value"
  ARGS serve --rules ${serve_data}/pattern_text.jsonl --port)
switchyard_cli_test(serve_port_out_of_range 2 STDOUT "" STDERR "--port must be an integer from 0 \\(any free port\\) to 65535, got \"65536\""
  ARGS serve --port 65536 --rules ${serve_data}/pattern_text.jsonl)
switchyard_cli_test(serve_port_not_a_number 2 STDOUT "" STDERR "--port must be an integer .* got \"http\""
  ARGS serve --port http --rules ${serve_data}/pattern_text.jsonl)
switchyard_cli_test(serve_unknown_option 2 STDOUT "" STDERR "unknown option \"--address\""
  ARGS serve --port 0 --rules ${serve_data}/pattern_text.jsonl --address 0.0.0.0)
switchyard_cli_test(serve_missing_rules_file 2 STDOUT "" STDERR "cannot read \".*no-such-rules.jsonl\""
  ARGS serve --port 0 --rules ${serve_data}/no-such-rules.jsonl)
# Rules files: FILE:LINE: the problem. Comments and blank lines count as lines.
switchyard_cli_test(serve_rules_bad_json 2 STDOUT "" STDERR "bad_json.jsonl:3: not valid JSON: parse error at column 63"
  ARGS serve --port 0 --rules ${serve_data}/bad_json.jsonl)
switchyard_cli_test(serve_rules_bad_pattern 2 STDOUT ""
  STDERR "bad_pattern.jsonl:2: rule \"big\": invalid event pattern: detail\\.amount\\[0\\]\\.numeric: lower bound must come first"
  ARGS serve --port 0 --rules ${serve_data}/bad_pattern.jsonl)
# A pattern given as text is checked the same way.
switchyard_cli_test(serve_rules_bad_pattern_text 2 STDOUT "" STDERR "pattern_text.jsonl:2: rule \"broken\": invalid event pattern: source: expected an array"
  ARGS serve --port 0 --rules ${serve_data}/pattern_text.jsonl)
switchyard_cli_test(serve_rules_missing_name 2 STDOUT "" STDERR "missing_name.jsonl:4: \"name\" is missing or not a string"
  ARGS serve --port 0 --rules ${serve_data}/missing_name.jsonl)
switchyard_cli_test(serve_rules_bad_name 2 STDOUT "" STDERR "bad_name.jsonl:1: rule name \"cards and more\" contains ' '"
  ARGS serve --port 0 --rules ${serve_data}/bad_name.jsonl)
switchyard_cli_test(serve_rules_duplicate_name 2 STDOUT "" STDERR "duplicate_name.jsonl:2: .*already has a rule named \"cards\""
  ARGS serve --port 0 --rules ${serve_data}/duplicate_name.jsonl)
switchyard_cli_test(serve_rules_unknown_member 2 STDOUT "" STDERR "unknown_member.jsonl:1: unknown member \"targets\""
  ARGS serve --port 0 --rules ${serve_data}/unknown_member.jsonl)

# The AWS CLI and raw PutEvents clients against a running serve, stopped by SIGTERM and SIGINT.
# Exits 77 (skipped) without Debian's /usr/bin/aws; /usr/bin/python3, since a pyenv shim may
# shadow python3 on PATH.
add_test(NAME cli_serve_aws COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/serve_test.py $<TARGET_FILE:switchyard_cli>)
set_tests_properties(cli_serve_aws PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
