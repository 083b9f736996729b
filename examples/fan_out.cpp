// One event, three targets, three shapes: an audit log receives the whole EventBridge event, a
// card service receives just `$.detail.card`, and a notifier receives a message built by an input
// transformer — the same template language EventBridge users already write.
// Run it: ./fan_out   (exits 0 when each target received its shape)
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>
#include <switchyard/switchyard.hpp>

namespace payments {

struct Card {
    std::string brand;
    std::string last4;
};
SWITCHYARD_FIELDS(Card, brand, last4)

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
    Card card;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, card)

// What the notifier works with: its own type, filled from the transformed payload.
struct Notification {
    std::string to;
    std::string text;
};
SWITCHYARD_FIELDS(Notification, to, text)

}  // namespace payments

int main() {
    using namespace payments;
    std::string audit, card, message;

    switchyard::bus bus{"payments"};
    bus.add_rule({
        .name = "large-transactions",
        .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "detail": {"total": [{"numeric": [">=", 1000]}]}})",
        .targets =
            {
                // 1. the whole event, as EventBridge JSON text
                switchyard::json_handler("audit-log", [&](std::string_view json) { audit = json; }),
                // 2. one path of it
                switchyard::json_handler("card-service", [&](std::string_view json) { card = json; })
                    .with_input(switchyard::input_path{"$.detail.card"}),
                // 3. a template, delivered to a typed handler as its own type
                switchyard::handler<Notification>("notifier",
                                                  [&](const switchyard::event<Notification>& e) {
                                                      message = e.detail.to + ": " + e.detail.text;
                                                  })
                    .with_input(switchyard::input_transformer{
                        {{"customer", "$.detail.customerId"}, {"total", "$.detail.total"}, {"last4", "$.detail.card.last4"}},
                        R"tpl({"to": <customer>, "text": "card ending <last4> was charged <total> (rule <aws.events.rule-name>)"})tpl"}),
            },
    });

    const auto r = bus.producer<CreditCardTransaction>("com.example.transaction")
                       .publish({"t-1001", "c-67890", 2500.0, {"VISA", "0034"}});
    bus.drain();

    std::printf("published %s\n\n", r.event_id.c_str());
    std::printf("audit-log    got the whole event: %s\n\n", audit.c_str());
    std::printf("card-service got $.detail.card:   %s\n\n", card.c_str());
    std::printf("notifier     got a Notification:  %s\n", message.c_str());

    const auto whole = nlohmann::json::parse(audit, nullptr, false);
    const bool ok = !whole.is_discarded() && whole.value("id", "") == r.event_id &&
                    nlohmann::json::parse(card, nullptr, false) == nlohmann::json{{"brand", "VISA"}, {"last4", "0034"}} &&
                    message == "c-67890: card ending 0034 was charged 2500.0 (rule large-transactions)";
    return ok ? 0 : 1;
}
