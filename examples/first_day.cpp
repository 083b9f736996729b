// A user's first day: the version in use, a typed batch published in one call, and the answer to
// "why didn't my event match?". Run it: ./first_day   (exits 0 when all of it behaves as shown)
#include <cstdio>
#include <string>
#include <vector>

#include <switchyard/switchyard.hpp>

namespace payments {

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
    std::string currency;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, currency)

}  // namespace payments

int main() {
    using payments::CreditCardTransaction;
    // The headers' version, for a log line or a feature check (#if SWITCHYARD_VERSION >= 100).
    std::printf("switchyard %s\n", std::string(switchyard::version().text).c_str());

    switchyard::bus bus{"payments"};
    int reviewed = 0;
    bus.add_rule({.name = "large-eur",
                  .pattern = R"({"detail": {"total": [{"numeric": [">", 1000]}], "currency": ["EUR"]}})",
                  .targets = {switchyard::handler<CreditCardTransaction>("review", [&](const auto&) { ++reviewed; })
                                  .ordered_by("$.detail.customerId")}});

    // A typed batch: any number of events in one call, one result per event, in order.
    auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
    std::vector<CreditCardTransaction> batch{
        {"t1", "c1", 2500.0, "EUR"}, {"t2", "c2", 30.0, "EUR"}, {"t3", "c1", 4000.0, "USD"}};
    const auto result = producer.publish_batch(batch);
    if (!result.ok()) {
        for (const auto& r : result.entries)
            if (!r.ok()) std::fprintf(stderr, "refused: %s: %s\n", std::string(to_string(r.error_code)).c_str(), r.error_message.c_str());
        return 1;
    }
    std::printf("published %zu events, %d reviewed\n", result.entries.size(), reviewed);

    // Why did t3 not reach the review? Ask the bus, rule by rule.
    const auto t3 = R"({"source": "com.example.transaction", "detail-type": "CREDIT_CARD_TRANSACTION",
                        "detail": {"transactionId": "t3", "customerId": "c1", "total": 4000, "currency": "USD"}})";
    for (const auto& rule : bus.explain(t3)) std::printf("%s: %s\n", rule.rule.c_str(), rule.explanation.to_string().c_str());
    // The same for one pattern, without a bus (the CLI: switchyard test-pattern --explain).
    const auto why = switchyard::explain(R"({"detail": {"total": [{"numeric": [">", 1000]}]}})", R"({"detail": {"total": 30}})");
    std::printf("%s\n", why.to_string().c_str());

    return reviewed == 1 && !why.matched ? 0 : 1;
}
