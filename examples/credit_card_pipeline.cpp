// The seed's scenario: a producer publishes credit-card transactions; one rule sends every
// transaction to a processor on a thread pool, a second sends the risky ones to fraud review.
// Run it: ./credit_card_pipeline   (exits 0 when every transaction reached its handlers)
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include <switchyard/switchyard.hpp>

namespace payments {

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
    std::string risk;  // "low" or "high": the tier the fraud rule routes on
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, risk)

}  // namespace payments

int main() {
    using payments::CreditCardTransaction;
    using switchyard::event;

    std::mutex print_mutex;
    std::atomic<int> processed{0}, reviewed{0}, failures{0};
    std::atomic<double> processed_total{0.0};

    // Executors first: the bus delivers to them, so they must outlive it.
    switchyard::thread_pool workers{4};
    switchyard::bus bus{"payments"};
    bus.set_error_handler([&](const switchyard::delivery_failure& f) {
        ++failures;
        std::lock_guard lock(print_mutex);
        std::fprintf(stderr, "delivery failed: rule %s target %s: %s\n", f.rule.c_str(), f.target.c_str(), f.error_message.c_str());
    });

    bus.add_rule({
        .name = "all-transactions",
        .pattern = R"({"source": ["com.example.transaction"], "detail-type": ["CREDIT_CARD_TRANSACTION"]})",
        .targets = {switchyard::handler<CreditCardTransaction>(
            "processor",
            [&](const event<CreditCardTransaction>& e) {
                ++processed;
                processed_total.fetch_add(e.detail.total);
                std::lock_guard lock(print_mutex);
                std::printf("processor:    %s customer %s charged %9.2f\n", e.detail.transactionId.c_str(),
                            e.detail.customerId.c_str(), e.detail.total);
            },
            workers)},
    });
    bus.add_rule({
        .name = "large-transactions",
        .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "detail": {"risk": ["high"]}})",
        .targets = {switchyard::handler<CreditCardTransaction>(
            "fraud-review",
            [&](const event<CreditCardTransaction>& e) {
                ++reviewed;
                std::lock_guard lock(print_mutex);
                std::printf("fraud-review: %s customer %s flagged  %9.2f (event %s)\n", e.detail.transactionId.c_str(),
                            e.detail.customerId.c_str(), e.detail.total, e.id.c_str());
            },
            workers)},
    });

    auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
    const double totals[] = {25.50, 2500.00, 310.75, 1200.01, 89.99, 4999.00, 15.00, 999.99};
    int published = 0, expected_reviews = 0;
    for (double total : totals) {
        const bool high = total > 1000.0;
        expected_reviews += high ? 1 : 0;
        const auto result = producer.publish({"t" + std::to_string(1000 + published), "c" + std::to_string(67890 + published % 3),
                                              total, high ? "high" : "low"});
        if (!result) {
            std::fprintf(stderr, "publish failed: %s\n", result.error_message.c_str());
            return 1;
        }
        ++published;
    }
    bus.drain();

    std::printf("\nsummary: %d published, %d processed (%.2f in total), %d sent to fraud review, %d failures\n", published,
                processed.load(), processed_total.load(), reviewed.load(), failures.load());
    const bool ok = processed == published && reviewed == expected_reviews && failures == 0;
    return ok ? 0 : 1;
}
