// safetensors: the writer and the memory-mapped reader round-trip f32 exactly and bf16/f16
// as their rounding; the header follows the format (8-byte length, JSON, data 8-byte
// aligned); sharded folders go through their index; and each kind of damage a download or a
// hand-made file can have is one CheckpointError naming the file and the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/safetensors.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;

namespace {

Tensor values(const Shape& shape, double scale) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * (double(i) - 3.3) / 7.0 + (i % 3 == 0 ? 1e-3 : 0.0);
  return Tensor::from_vector(v, shape);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A file with a hand-written header and `data_bytes` zero bytes of data.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char(uint8_t(uint64_t(header.size()) >> (8 * i)));
  write_all(path, bytes + header + std::string(data_bytes, '\0'));
}

}  // namespace

TEST(Safetensors, RoundTripsEachDtypeAsItsRounding) {
  linea::testing::TempDir dir;
  const Tensor a = values({3, 5}, 2.0), b = values({7}, 300.0), c = values({2, 1, 3}, 0.01);
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    const std::string path = dir.file(std::string("t_") + dtype_name(dt) + ".safetensors");
    write_safetensors(path, {{"a.weight", a}, {"b", b}, {"c", c.transpose(0, 2)}}, dt, {{"format", "pt"}});
    SafetensorsFile f = SafetensorsFile::open(path);
    ASSERT_EQ(f.entries().size(), 3u);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.find("c")->shape, (Shape{3, 1, 2}));  // a strided view is written in its logical order
    for (const auto& [name, t] : std::vector<std::pair<std::string, Tensor>>{{"a.weight", a}, {"b", b}, {"c", c.transpose(0, 2)}}) {
      const Tensor back = f.read(name, DType::f32);
      EXPECT_EQ(back.to_vector(), t.to(dt).to(DType::f32).to_vector()) << name << " " << dtype_name(dt);
      EXPECT_EQ(f.read(name, DType::f64).to_vector(), back.to_vector()) << "f64 reads the same values";
    }
  }
}

TEST(Safetensors, HeaderIsLittleEndianJsonPaddedToEightBytes) {
  linea::testing::TempDir dir;
  const std::string path = dir.file("x.safetensors");
  write_safetensors(path, {{"w", Tensor::from_vector({1.5, -2.0}, {2})}}, DType::f32);
  const std::string bytes = read_all(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 8);
  const std::string header = bytes.substr(8, n);
  EXPECT_NE(header.find("\"w\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]}"), std::string::npos) << header;
  float first;
  std::memcpy(&first, bytes.data() + 8 + n, 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(Safetensors, DamagedFilesAreNamedErrors) {
  linea::testing::TempDir dir;
  const std::string good = dir.file("good.safetensors");
  write_safetensors(good, {{"a", values({4, 4}, 1.0)}, {"b", values({4}, 1.0)}}, DType::f32);
  const std::string bytes = read_all(good);

  const std::string cut = dir.file("cut.safetensors");
  write_all(cut, bytes.substr(0, bytes.size() - 3));
  expect_error<CheckpointError>([&] { SafetensorsFile::open(cut); }, "truncated: tensor b ends at byte 80");
  write_all(cut, bytes.substr(0, 5));
  expect_error<CheckpointError>([&] { SafetensorsFile::open(cut); }, "expected at least the 8-byte header length");
  write_all(cut, bytes.substr(0, 40));
  expect_error<CheckpointError>([&] { SafetensorsFile::open(cut); }, "header length");
  expect_error<CheckpointError>([&] { SafetensorsFile::open(dir.file("absent.safetensors")); }, "absent.safetensors");

  const std::string raw = dir.file("raw.safetensors");
  write_raw(raw, "not json at all!", 0);
  expect_error<CheckpointError>([&] { SafetensorsFile::open(raw); }, "its header is not a JSON object");
  write_raw(raw, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  expect_error<CheckpointError>([&] { SafetensorsFile::open(raw); }, "tensors a and b overlap");
  write_raw(raw, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  expect_error<CheckpointError>([&] { SafetensorsFile::open(raw); }, "tensor a: 8 bytes for F32 shape [3], expected 12");
  write_raw(raw, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8);
  expect_error<CheckpointError>([&] { SafetensorsFile::open(raw); }, "run backwards");
  write_raw(raw, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8);
  expect_error<CheckpointError>([&] { SafetensorsFile::open(raw); }, "shape entry is -2");
  write_raw(raw, R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", 8);
  SafetensorsFile fp8 = SafetensorsFile::open(raw);  // listed; refused only when read
  expect_error<CheckpointError>([&] { fp8.read("a", DType::f32); }, "tensor a has dtype F8_E4M3");
  expect_error<CheckpointError>([&] { fp8.read("z", DType::f32); }, "no tensor named z");
}

TEST(Safetensors, ShardedFolderFollowsItsIndex) {
  linea::testing::TempDir dir;
  const Tensor a = values({2, 3}, 1.0), b = values({5}, 2.0), c = values({1}, 3.0);
  write_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", a}, {"b", b}}, DType::bf16);
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"c", c}}, DType::f32);
  const std::string index = dir.file("model.safetensors.index.json");
  write_all(index, R"({"metadata": {"total_size": 26}, "weight_map": {"a": "model-00001-of-00002.safetensors",
      "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})");
  SafetensorsSet set = SafetensorsSet::open_folder(dir.path());
  EXPECT_EQ(set.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(set.read("b", DType::f32).to_vector(), b.to(DType::bf16).to(DType::f32).to_vector());
  EXPECT_EQ(set.read("c", DType::f32).to_vector(), c.to_vector());
  expect_error<CheckpointError>([&] { set.read("d", DType::f32); }, "model.safetensors.index.json: no tensor named d");

  write_all(index, R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
  expect_error<CheckpointError>([&] { SafetensorsSet::open_folder(dir.path()); },
                                "weight_map puts a in model-00002-of-00002.safetensors, which does not hold it");
  write_all(index, R"({"weight_map": {"a": "model-00003-of-00003.safetensors"}})");
  expect_error<CheckpointError>([&] { SafetensorsSet::open_folder(dir.path()); }, "model-00003-of-00003.safetensors");
  write_all(index, R"({"weight_map": {"a": "../elsewhere.safetensors"}})");
  expect_error<CheckpointError>([&] { SafetensorsSet::open_folder(dir.path()); }, "expected a file name in the folder");
  write_all(index, R"([1, 2])");
  expect_error<CheckpointError>([&] { SafetensorsSet::open_folder(dir.path()); }, "expected a JSON object with a weight_map");

  linea::testing::TempDir empty;
  expect_error<CheckpointError>([&] { SafetensorsSet::open_folder(empty.path()); },
                                "no model.safetensors or model.safetensors.index.json");
}

TEST(Safetensors, WriterRefusesRepeatedNamesAndOtherDtypesWithoutWriting) {
  linea::testing::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  expect_error<ConfigError>([&] { write_safetensors(path, {{"a", values({2}, 1.0)}, {"a", values({2}, 1.0)}}, DType::f32); },
                            "tensor name a is reserved or repeated");
  expect_error<ConfigError>([&] { write_safetensors(path, {{"a", values({2}, 1.0)}}, DType::f64); },
                            "cannot write dtype f64");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}
