// libFuzzer target: the two frames a node receives, through decode() and peek_envelope().
// Input: the type frame, a NUL byte, the body frame (no NUL: all of it is the type frame).
// Property: whatever decodes re-encodes to frames that decode to an equal message, the same
// bytes each time, and peek_envelope() finds its envelope.
#include "patterns/codec.hpp"

#include "fuzz_check.hpp"
#include "registry/builtin.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static_cast<void>(choreo::builtin_patterns()); // a pattern registers its contracts when made
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace choreo;
    const auto input = fuzz::text_of(data, size);
    const auto nul = input.find('\0');
    const auto type = input.substr(0, nul);
    const auto body = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

    const auto decoded = decode(type, body);
    const auto envelope = peek_envelope(body);
    if (!decoded) {
        CHOREO_FUZZ_CHECK(decoded.error().category() == choreo_category(),
                          "decode fails only with choreo's own errors");
        return 0;
    }
    const auto& m = decoded.value();
    CHOREO_FUZZ_CHECK(m.payload.type_name() == type, "the payload is of the type frame's type");
    CHOREO_FUZZ_CHECK(envelope && *envelope == m.env, "peek_envelope finds decode's envelope");

    const auto again = encode(m);
    CHOREO_FUZZ_CHECK(again.type == type, "encode writes the same type frame");
    const auto back = decode(again.type, again.body);
    CHOREO_FUZZ_CHECK(back.ok(), "a re-encoded message decodes");
    CHOREO_FUZZ_CHECK(back.value() == m, "a re-encoded message decodes to an equal one");
    CHOREO_FUZZ_CHECK(encode(back.value()).body == again.body, "encoding is stable");
    return 0;
}
