// The `regexp` operator: I-Regexp (RFC 9485), always anchored at both ends, compiled to a small
// Thompson NFA and run as a Pike VM over code points, so matching is linear in the value's length
// whatever the expression (no catastrophic backtracking). Unicode property escapes (\p{..}) are
// not supported and are rejected at compile time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/pattern/detail/casefold.hpp"

namespace switchyard::pattern::detail {

class regexp_program {
public:
    static constexpr std::size_t max_instructions = 4096;

    // Returns null and sets `why` when `source` is not an I-Regexp this engine accepts.
    static std::shared_ptr<const regexp_program> compile(std::string_view source, std::string& why) {
        auto out = std::make_shared<regexp_program>();
        parser p{source, 0, {}, {}};
        try {
            const int root = p.alternation(0);
            if (p.pos != source.size()) p.fail(p.source[p.pos] == ')' ? "unbalanced ')'" : "unexpected character");
            out->set_slots_.assign(p.sets.size(), -1);
            out->emit(p, root);
            out->set_slots_.clear();
            out->code_.push_back({op::match, 0, 0, 0});
            if (out->code_.size() > max_instructions) p.fail("expression is too complex (more than 4096 NFA states)");
        } catch (const parse_failure& f) {
            why = f.what + " at character " + std::to_string(f.at);
            return nullptr;
        }
        return out;
    }

    bool matches(std::string_view s) const {
        std::vector<int> current, next, stack;
        std::vector<std::uint32_t> mark(code_.size(), 0);
        // Per code point, each distinct set is tested once however many live states use it
        // (`x{1000}` makes a thousand states share one set).
        std::vector<std::uint32_t> tested(sets_.size(), 0);
        std::vector<char> inside(sets_.size(), 0);
        std::uint32_t generation = 1;
        add(current, stack, mark, generation, 0);
        std::size_t i = 0;
        while (i < s.size() && !current.empty()) {
            const std::uint32_t cp = decode_utf8(s, i);
            ++generation;
            next.clear();
            for (const int pc : current) {
                const auto& in = code_[static_cast<std::size_t>(pc)];
                if (in.kind != op::set) continue;
                const auto set = static_cast<std::size_t>(in.a);
                if (tested[set] != generation) {
                    tested[set] = generation;
                    inside[set] = in_set(sets_[set], cp);
                }
                if (inside[set]) add(next, stack, mark, generation, pc + 1);
            }
            std::swap(current, next);
        }
        if (i < s.size()) return false;
        for (const int pc : current)
            if (code_[static_cast<std::size_t>(pc)].kind == op::match) return true;
        return false;
    }

    // Distinct character sets in the program (a set repeated by a quantifier counts once).
    std::size_t set_count() const noexcept { return sets_.size(); }
    std::size_t instruction_count() const noexcept { return code_.size(); }

private:
    enum class op : std::uint8_t { set, split, jump, match };
    struct instruction {
        op kind;
        int a, b;  // set: set index; split: both targets; jump: target
        int unused;
    };
    struct char_set {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
        bool negated = false;
    };
    // Ranges are sorted and merged when the program is built: a binary search, not a scan of a
    // class of hundreds of characters.
    static bool in_set(const char_set& set, std::uint32_t cp) {
        const auto it = std::upper_bound(set.ranges.begin(), set.ranges.end(), cp,
                                         [](std::uint32_t c, const std::pair<std::uint32_t, std::uint32_t>& r) { return c < r.first; });
        const bool in = it != set.ranges.begin() && cp <= std::prev(it)->second;
        return in != set.negated;
    }
    static void normalize(char_set& set) {
        auto& r = set.ranges;
        std::sort(r.begin(), r.end());
        std::size_t out = 0;
        for (std::size_t k = 0; k < r.size(); ++k) {
            if (out > 0 && r[k].first <= r[out - 1].second + 1) r[out - 1].second = std::max(r[out - 1].second, r[k].second);
            else r[out++] = r[k];
        }
        r.resize(out);
    }

    void add(std::vector<int>& list, std::vector<int>& stack, std::vector<std::uint32_t>& mark, std::uint32_t generation,
             int pc) const {
        // Iterative epsilon closure (an explicit stack: deep nesting must not exhaust the stack).
        stack.assign(1, pc);
        while (!stack.empty()) {
            const int at = stack.back();
            stack.pop_back();
            if (mark[static_cast<std::size_t>(at)] == generation) continue;
            mark[static_cast<std::size_t>(at)] = generation;
            const auto& in = code_[static_cast<std::size_t>(at)];
            if (in.kind == op::jump) stack.push_back(in.a);
            else if (in.kind == op::split) {
                stack.push_back(in.b);
                stack.push_back(in.a);
            } else list.push_back(at);
        }
    }

    struct parse_failure {
        std::string what;
        std::size_t at;
    };
    struct node {
        enum kind_t { set, concat, alternate, repeat, empty } kind;
        std::vector<int> children;
        int set_index = -1;
        int min = 0, max = 0;  // max < 0: unbounded
    };
    struct parser {
        std::string_view source;
        std::size_t pos;
        std::vector<node> nodes;
        std::vector<char_set> sets;

        [[noreturn]] void fail(const std::string& what) const { throw parse_failure{what, pos}; }
        bool at_end() const { return pos >= source.size(); }
        char peek() const { return at_end() ? '\0' : source[pos]; }
        int make(node n) {
            nodes.push_back(std::move(n));
            if (nodes.size() > max_instructions) fail("expression is too complex");
            return static_cast<int>(nodes.size() - 1);
        }
        int make_set(char_set s) {
            sets.push_back(std::move(s));
            node n{node::set, {}};
            n.set_index = static_cast<int>(sets.size() - 1);
            return make(std::move(n));
        }

        int alternation(int depth) {
            if (depth > 64) fail("groups are nested more than 64 deep");
            std::vector<int> branches{concatenation(depth)};
            while (peek() == '|') {
                ++pos;
                branches.push_back(concatenation(depth));
            }
            if (branches.size() == 1) return branches.front();
            return make({node::alternate, std::move(branches)});
        }
        int concatenation(int depth) {
            std::vector<int> pieces;
            while (!at_end() && peek() != '|' && peek() != ')') pieces.push_back(piece(depth));
            if (pieces.empty()) return make({node::empty, {}});
            if (pieces.size() == 1) return pieces.front();
            return make({node::concat, std::move(pieces)});
        }
        int piece(int depth) {
            int a = atom(depth);
            const char c = peek();
            int min = -1, max = -1;
            if (c == '*') { min = 0; max = -1; ++pos; }
            else if (c == '+') { min = 1; max = -1; ++pos; }
            else if (c == '?') { min = 0; max = 1; ++pos; }
            else if (c == '{') {
                ++pos;
                min = number();
                max = min;
                if (peek() == ',') {
                    ++pos;
                    max = peek() == '}' ? -1 : number();
                }
                if (peek() != '}') fail("expected '}' to close the quantifier");
                ++pos;
                if (max >= 0 && max < min) fail("quantifier {n,m} needs n <= m");
                if (min > 1000 || max > 1000) fail("quantifier bounds above 1000 are not supported");
            } else {
                return a;
            }
            const char after = peek();
            if (after == '*' || after == '+' || after == '?' || after == '{') fail("a quantifier cannot follow a quantifier");
            node n{node::repeat, {a}};
            n.min = min;
            n.max = max;
            return make(std::move(n));
        }
        int number() {
            if (at_end() || peek() < '0' || peek() > '9') fail("expected a number in the quantifier");
            int v = 0;
            while (!at_end() && peek() >= '0' && peek() <= '9') {
                v = v * 10 + (peek() - '0');
                if (v > 100000) fail("quantifier bound is too large");
                ++pos;
            }
            return v;
        }
        std::uint32_t code_point() {
            std::size_t i = pos;
            const std::uint32_t cp = decode_utf8(source, i);
            pos = i;
            return cp;
        }
        // After a backslash: a single-character escape, or fail.
        std::uint32_t single_escape() {
            if (at_end()) fail("a trailing backslash");
            const char c = source[pos++];
            switch (c) {
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case '(': case ')': case '*': case '+': case '-': case '.': case '?':
                case '[': case '\\': case ']': case '^': case '{': case '|': case '}':
                    return static_cast<unsigned char>(c);
                case 'p': case 'P':
                    --pos;
                    fail("Unicode property escapes (\\p{...}) are not supported");
                default:
                    --pos;
                    fail(std::string("unknown escape '\\") + c + "'");
            }
        }
        int atom(int depth) {
            const char c = peek();
            if (c == '(') {
                ++pos;
                const int inner = alternation(depth + 1);
                if (peek() != ')') fail("missing ')'");
                ++pos;
                return inner;
            }
            if (c == '.') {
                ++pos;
                return make_set({{{'\n', '\n'}, {'\r', '\r'}}, true});
            }
            if (c == '[') return char_class();
            if (c == '\\') {
                ++pos;
                const std::uint32_t cp = single_escape();
                return make_set({{{cp, cp}}, false});
            }
            if (c == '*' || c == '+' || c == '?' || c == '{') fail("nothing to repeat");
            if (c == ']' || c == '}') fail(std::string("'") + c + "' must be escaped");
            const std::uint32_t cp = code_point();
            return make_set({{{cp, cp}}, false});
        }
        std::uint32_t class_char() {
            const char c = peek();
            if (c == '\\') {
                ++pos;
                return single_escape();
            }
            if (c == '[' ) fail("'[' inside a character class must be escaped");
            return code_point();
        }
        int char_class() {
            ++pos;  // '['
            char_set set;
            if (peek() == '^') {
                set.negated = true;
                ++pos;
            }
            bool first = true;
            while (true) {
                if (at_end()) fail("missing ']'");
                if (peek() == ']' && !first) break;
                if (peek() == ']') fail("an empty character class");
                if (peek() == '-' && (first || (pos + 1 < source.size() && source[pos + 1] == ']'))) {
                    ++pos;
                    set.ranges.push_back({'-', '-'});
                    first = false;
                    continue;
                }
                const std::uint32_t lo = class_char();
                std::uint32_t hi = lo;
                if (peek() == '-' && pos + 1 < source.size() && source[pos + 1] != ']') {
                    ++pos;
                    hi = class_char();
                    if (hi < lo) fail("a character range must go from low to high");
                }
                set.ranges.push_back({lo, hi});
                first = false;
            }
            ++pos;  // ']'
            return make_set(std::move(set));
        }
    };

    void emit(const parser& p, int index) {
        const node& n = p.nodes[static_cast<std::size_t>(index)];
        if (code_.size() > max_instructions) return;
        switch (n.kind) {
            case node::empty: return;
            case node::set: {
                // A set repeated by a quantifier is stored once.
                auto& slot = set_slots_[static_cast<std::size_t>(n.set_index)];
                if (slot < 0) {
                    sets_.push_back(p.sets[static_cast<std::size_t>(n.set_index)]);
                    normalize(sets_.back());
                    slot = static_cast<int>(sets_.size() - 1);
                }
                code_.push_back({op::set, slot, 0, 0});
                return;
            }
            case node::concat:
                for (const int child : n.children) emit(p, child);
                return;
            case node::alternate: {
                std::vector<std::size_t> jumps;
                for (std::size_t k = 0; k < n.children.size(); ++k) {
                    if (k + 1 < n.children.size()) {
                        const std::size_t split = code_.size();
                        code_.push_back({op::split, static_cast<int>(split + 1), 0, 0});
                        emit(p, n.children[k]);
                        jumps.push_back(code_.size());
                        code_.push_back({op::jump, 0, 0, 0});
                        code_[split].b = static_cast<int>(code_.size());
                    } else {
                        emit(p, n.children[k]);
                    }
                }
                for (const auto j : jumps) code_[j].a = static_cast<int>(code_.size());
                return;
            }
            case node::repeat: {
                const int child = n.children.front();
                for (int k = 0; k < n.min; ++k) emit(p, child);
                if (n.max < 0) {
                    const std::size_t split = code_.size();
                    code_.push_back({op::split, static_cast<int>(split + 1), 0, 0});
                    emit(p, child);
                    code_.push_back({op::jump, static_cast<int>(split), 0, 0});
                    code_[split].b = static_cast<int>(code_.size());
                } else {
                    std::vector<std::size_t> splits;
                    for (int k = n.min; k < n.max; ++k) {
                        splits.push_back(code_.size());
                        code_.push_back({op::split, static_cast<int>(code_.size() + 1), 0, 0});
                        emit(p, child);
                        if (code_.size() > max_instructions) return;
                    }
                    for (const auto s : splits) code_[s].b = static_cast<int>(code_.size());
                }
                return;
            }
        }
    }

    std::vector<instruction> code_;
    std::vector<char_set> sets_;
    std::vector<int> set_slots_;  // while emitting: the parser's set -> its index in sets_
};

}  // namespace switchyard::pattern::detail
