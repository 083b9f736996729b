// The README's quick start as a whole program (one rule, one typed handler on a pool, one publish).
#include <switchyard/switchyard.hpp>

static int reviewed = 0;
template <class T> void review(const T&) { ++reviewed; }

struct CreditCardTransaction { std::string transactionId, customerId; double total; };
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)

int main() {
    switchyard::thread_pool workers{4};
    switchyard::bus bus{"payments"};
    bus.add_rule({.name = "large-transactions",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "detail": {"total": [{"numeric": [">", 1000]}]}})",
                  .targets = {switchyard::handler<CreditCardTransaction>("fraud-review",
                      [](const switchyard::event<CreditCardTransaction>& e) { review(e.detail); }, workers)}});
    (void)bus.producer<CreditCardTransaction>("com.example.transaction").publish({"12345", "67890", 2500.0});
    bus.drain();
    return reviewed == 1 ? 0 : 1;
}
