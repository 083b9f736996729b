// A publish result is [[nodiscard]]: dropping it would hide a refused event. With warnings as
// errors (as here), this file must not compile.
// expect: ignoring return(ed)? value
#include <switchyard/switchyard.hpp>

struct Payment {
    std::string id;
};
SWITCHYARD_EVENT(Payment, "PAYMENT", id)

void publish(switchyard::bus& bus) {
    bus.publish("com.example", Payment{"1"});
}
