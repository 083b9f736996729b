/// @file
/// Input transformation: what a target receives for an event — the whole event (the default), a
/// constant, the value at an input path, or an EventBridge input transformer (variables bound to
/// JSON paths, spliced into a template). Compiled and validated once, rendered once per delivery.
///
/// Behaviour, following EventBridge's documentation, with the differences marked (*):
///  - Paths: `$`, `.name` (letters, digits, `_`, `-`, `/`, UTF-8), `[index]`, `.*` and `[*]`.
///    A path with a wildcard yields a JSON array of every match (`[]` when none match).
///  - A placeholder in a JSON value position inserts the value as JSON (a string is quoted); inside
///    a JSON string it splices the value's text (a string's characters, anything else its compact
///    JSON). (*) Spliced text is escaped, so the output is always valid JSON; EventBridge does not
///    escape. (*) `<aws.events.event>` and `<aws.events.event.json>` may also be spliced.
///  - A path that names nothing: EventBridge documents that such a variable "isn't created and won't
///    appear in the output". Here it renders as nothing inside a string or in a plain-text template,
///    and (*) as `null` in a value position, where nothing would leave invalid JSON.
///  - A template whose first non-blank character is `{`, `[` or `"` must be JSON with placeholders;
///    (*) one that is not is rejected when compiled, with the offset and the problem. Any other
///    template is JSON if it parses as JSON (`<v>`, `42`) and plain text otherwise
///    (`Order <id> placed`), which renders unescaped and reports is_json() == false.
///  - Placeholders cannot be object keys (EventBridge forbids it too). A placeholder naming no
///    variable is rejected when compiled (*), so a typo cannot silently render nothing; write a
///    literal `<b>` inside a JSON string as `\u003cb>`.
///  - Limits: at most 100 variables and a template of at most 8192 bytes (EventBridge's limits).
///    Variable names are letters, digits, `_`, `-` and `.`; names starting with `aws.` are reserved.
///  - Reserved variables: `aws.events.rule-name`, `aws.events.event` (the envelope without detail),
///    `aws.events.event.json` (the whole event), `aws.events.event.ingestion-time` (RFC 3339, UTC,
///    seconds). (*) `aws.events.rule-arn` is rejected: switchyard rules have no ARN.
///  - (*) Numbers taken from the event are re-serialised by nlohmann/json (`1.50` becomes `1.5`).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/transform/input_spec.hpp"

namespace switchyard {

namespace detail {
struct transform_program;
struct transform_variable;
class json_path;
}  // namespace detail

/// A target's input specification, validated and compiled (see transform.hpp for the rules).
/// Cheap to copy (shares an immutable program); render() is const and safe to call from many
/// threads at once.
class SWITCHYARD_API compiled_input {
public:
    static constexpr std::size_t max_variables = 100;        ///< EventBridge: InputPathsMap entries
    static constexpr std::size_t max_template_size = 8192;   ///< EventBridge: InputTemplate length

    /// The whole event. Every default instance shares one program: targets are created often.
    compiled_input() : program_(whole_event_program()) {}

    /// Throws switchyard::error with a message naming the problem when the specification is invalid.
    static compiled_input compile(const input_spec& spec);

    /// The payload for one delivery: JSON text, or plain text when !is_json(). Throws
    /// switchyard::permanent_error when the event cannot be rendered (its JSON cannot be produced),
    /// so the delivery is dead-lettered rather than retried.
    std::string render(const any_event& e, std::string_view rule_name) const;

    /// False only for plain-text templates.
    bool is_json() const noexcept;
    /// True for the default: render() returns e.json(), which callers can use without a copy.
    bool is_whole_event() const noexcept;

private:
    using program = detail::transform_program;
    using variable = detail::transform_variable;
    using json = nlohmann::ordered_json;

    explicit compiled_input(std::shared_ptr<const program> p) : program_(std::move(p)) {}

    static const std::shared_ptr<const program>& whole_event_program();

    static program build(const whole_event&);

    static program build(const constant_input& c);

    static program build(const input_path& ip);

    static program build(const input_transformer& t);

    // The values of one variable for one render, computed on first use.
    struct resolved {
        bool done = false;
        bool missing = false;
        std::string as_json;  // value position
        std::string as_text;  // inside a string / plain text
    };

    std::string render_unchecked(const any_event& e, std::string_view rule_name) const;

    static std::string render_path(const any_event& e, const detail::json_path& path);

    std::shared_ptr<const program> program_;
};


}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/transform-inl.hpp"
#endif
