// libFuzzer target: each registered contract's own decoder, driven from the registry, so that a
// contract registered later is fuzzed without a line here.
// Input: the contract's type name, a NUL byte, then the contract's MessagePack map; a name no
// contract has is skipped. By name, not by position: a contract registered later leaves every
// seed of the corpus pointing at the contract it was written for.
// Property: whatever the decoder accepts packs to bytes it reads back to an equal contract, and
// the whole message (that contract under an envelope) round-trips through encode and decode,
// given the one more level of nesting the root map takes.
#include "patterns/codec.hpp"

#include "fuzz_check.hpp"
#include "registry/builtin.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static_cast<void>(choreo::builtin_patterns()); // patterns register their contracts
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace choreo;
    using detail::msgpack_reader;
    using detail::read_status;
    const auto input = fuzz::text_of(data, size);
    const auto nul = input.find('\0');
    if (nul == std::string_view::npos) {
        return 0;
    }
    const auto found = find_contract(input.substr(0, nul));
    if (!found) {
        return 0;
    }
    const auto& contract = *found;
    const auto body = input.substr(nul + 1);
    const codec_limits limits;

    msgpack_reader in(body, limits.max_depth, limits.max_elements);
    msg::payload read;
    if (contract.decode(in, read) != read_status::ok) {
        CHOREO_FUZZ_CHECK(read.empty(), "a refused contract leaves the payload untouched");
        return 0;
    }
    CHOREO_FUZZ_CHECK(read.type_name() == contract.type_name, "the decoder makes its own type");

    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    read.pack(packer);
    msgpack_reader again(std::string_view(buffer.data(), buffer.size()), limits.max_depth,
                         limits.max_elements);
    msg::payload back;
    CHOREO_FUZZ_CHECK(contract.decode(again, back) == read_status::ok,
                      "a packed contract reads back");
    CHOREO_FUZZ_CHECK(again.at_end(), "reading a packed contract reads all of it");
    CHOREO_FUZZ_CHECK(back == read, "a packed contract reads back equal");

    // Under the root map the contract sits one level deeper: give decode() that level.
    const message m{{1, "fuzz-wf", "fuzz", 0, 0, 0}, read};
    const auto wire = encode(m);
    auto deeper = limits;
    ++deeper.max_depth;
    const auto decoded = decode(wire.type, wire.body, deeper);
    CHOREO_FUZZ_CHECK(decoded.ok() && decoded.value() == m,
                      "the contract under an envelope round-trips through encode and decode");
    return 0;
}
