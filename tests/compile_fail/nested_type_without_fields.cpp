// A field whose type has no JSON mapping gets one message naming SWITCHYARD_FIELDS, not pages of
// nlohmann's template errors. This file must not compile.
// expect: has a type without a JSON mapping: declare that type with SWITCHYARD_FIELDS
#include <switchyard/switchyard.hpp>

struct Card {
    std::string brand;
};  // no SWITCHYARD_FIELDS(Card, brand)

struct Payment {
    std::string id;
    Card card;
};
SWITCHYARD_EVENT(Payment, "PAYMENT", id, card)
