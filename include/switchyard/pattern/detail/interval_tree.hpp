// A centered interval tree over the numeric ranges of one path, so a number finds the ranges
// containing it in O(log n + matches) however many numeric rules there are. Built lazily, once per
// matcher snapshot, by the first event that needs it (see path_index::collect).
#pragma once

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern::detail {

template <class Payload> class interval_tree {
public:
    using item = std::pair<const numeric_range*, Payload>;

    explicit interval_tree(std::vector<item> items) : root_(build(std::move(items))) {}

    template <class F> void query(double x, F&& f) const {
        for (const node* n = root_.get(); n;) {
            if (x < n->center) {
                for (const auto& it : n->by_low) {
                    if (it.first->low > x) break;
                    if (it.first->contains(x)) f(it.second);
                }
                n = n->left.get();
            } else if (x > n->center) {
                for (const auto& it : n->by_high) {
                    if (it.first->high < x) break;
                    if (it.first->contains(x)) f(it.second);
                }
                n = n->right.get();
            } else {
                for (const auto& it : n->by_low)
                    if (it.first->contains(x)) f(it.second);
                return;
            }
        }
    }

private:
    struct node {
        double center;
        std::vector<item> by_low;   // ranges containing center, by ascending low
        std::vector<item> by_high;  // the same, by descending high
        std::unique_ptr<node> left, right;
    };

    static std::unique_ptr<node> build(std::vector<item> items) {
        if (items.empty()) return nullptr;
        std::vector<double> ends;
        ends.reserve(items.size() * 2);
        for (const auto& it : items) {
            ends.push_back(it.first->low);
            ends.push_back(it.first->high);
        }
        std::nth_element(ends.begin(), ends.begin() + static_cast<std::ptrdiff_t>(ends.size() / 2), ends.end());
        auto n = std::make_unique<node>();
        n->center = ends[ends.size() / 2];
        std::vector<item> left, right;
        for (auto& it : items) {
            if (it.first->high < n->center) left.push_back(std::move(it));
            else if (it.first->low > n->center) right.push_back(std::move(it));
            else n->by_low.push_back(std::move(it));
        }
        // The center is some range's end, so at least one range stays here: depth is bounded.
        n->by_high = n->by_low;
        std::sort(n->by_low.begin(), n->by_low.end(), [](const item& a, const item& b) { return a.first->low < b.first->low; });
        std::sort(n->by_high.begin(), n->by_high.end(), [](const item& a, const item& b) { return a.first->high > b.first->high; });
        n->left = build(std::move(left));
        n->right = build(std::move(right));
        return n;
    }

    std::unique_ptr<node> root_;
};

}  // namespace switchyard::pattern::detail
