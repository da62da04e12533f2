// H5File: tensor round trips of every dtype and shape, groups and names with dots,
// attributes, extendable streams read by hyperslab, and one clear error for bad files.
#include "core/io/hdf5_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>

#include "support/temp_dir.h"

using namespace linea;
using linea::testing::TempDir;

namespace {

// Runs `fn`, expecting ExcType whose message contains `needle`.
template <class ExcType, class Fn>
void expect_error(Fn&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing: " << needle;
  } catch (const ExcType& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

Tensor sample(const Shape& shape, DType dtype) {
  std::vector<double> values(size_t(shape_numel(shape)));
  for (size_t i = 0; i < values.size(); ++i) values[i] = double(int64_t(i * 7 % 23) - 11) * 0.5;
  if (dtype == DType::u8 || dtype == DType::i32 || dtype == DType::i64)
    for (double& v : values) v = std::abs(std::round(v));
  return Tensor::from_vector(values, shape, dtype);
}

}  // namespace

TEST(H5File, TensorsOfEveryDtypeAndShapeRoundTrip) {
  TempDir dir;
  std::string path = dir.file("t.h5");
  std::vector<DType> dtypes = {DType::f32, DType::bf16, DType::f16, DType::f64, DType::i32, DType::i64, DType::u8};
  std::vector<Shape> shapes = {{}, {0}, {5}, {2, 3}, {2, 0, 4}, {2, 3, 4}};
  {
    H5File f = H5File::create(path);
    for (DType d : dtypes)
      for (size_t s = 0; s < shapes.size(); ++s)
        f.write_tensor(str_cat("/", dtype_name(d), "/shape", s), sample(shapes[s], d));
    f.close();
  }
  H5File f = H5File::open_read(path);
  for (DType d : dtypes)
    for (size_t s = 0; s < shapes.size(); ++s) {
      Tensor back = f.read_tensor(str_cat("/", dtype_name(d), "/shape", s));
      Tensor want = sample(shapes[s], d);
      EXPECT_EQ(back.dtype(), d) << dtype_name(d);
      EXPECT_EQ(back.shape(), shapes[s]) << dtype_name(d) << " " << shape_str(shapes[s]);
      EXPECT_EQ(back.to_vector(), want.to_vector()) << dtype_name(d) << " " << shape_str(shapes[s]);
    }
}

TEST(H5File, NonContiguousTensorsAreWrittenInLogicalOrder) {
  TempDir dir;
  H5File f = H5File::create(dir.file("t.h5"));
  Tensor t = sample({3, 4}, DType::f32);
  f.write_tensor("/t", t.transpose(0, 1));
  EXPECT_EQ(f.read_tensor("/t").to_vector(), t.transpose(0, 1).contiguous().to_vector());
  EXPECT_EQ(f.dataset_shape("/t"), (Shape{4, 3}));
}

TEST(H5File, DotsArePartOfNamesAndGroupsAreCreated) {
  TempDir dir;
  H5File f = H5File::create(dir.file("t.h5"));
  f.write_tensor("/model/layers.0.self_attn.q_proj.weight", sample({2, 2}, DType::f32));
  f.write_tensor("/model/layers.1.mlp.up_proj.weight", sample({2}, DType::f32));
  f.write_tensor("/optim/adamw/exp_avg/embed_tokens.weight", sample({3}, DType::f32));
  EXPECT_TRUE(f.exists("/model"));
  EXPECT_TRUE(f.exists("/model/layers.0.self_attn.q_proj.weight"));
  EXPECT_FALSE(f.exists("/model/layers"));
  EXPECT_FALSE(f.exists("/missing/deeper/name"));
  EXPECT_FALSE(f.exists("/model/layers.0.self_attn.q_proj.weight/below_a_dataset"));
  EXPECT_EQ(f.list("/"), (std::vector<std::string>{"model", "optim"}));
  EXPECT_EQ(f.list("/model"),
            (std::vector<std::string>{"layers.0.self_attn.q_proj.weight", "layers.1.mlp.up_proj.weight"}));
  EXPECT_EQ(f.list("/optim/adamw"), (std::vector<std::string>{"exp_avg"}));
  expect_error<CheckpointError>([&] { f.write_tensor("/model/layers.1.mlp.up_proj.weight", sample({1}, DType::f32)); },
                                "already exists");
  expect_error<CheckpointError>([&] { f.read_tensor("/model/nope"); }, "no dataset '/model/nope'");
  expect_error<CheckpointError>([&] { f.read_tensor("/model"); }, "'/model' is not a dataset");
}

TEST(H5File, ScalarAttributesOnRootGroupsAndDatasets) {
  TempDir dir;
  std::string path = dir.file("t.h5");
  {
    H5File f = H5File::create(path);
    f.write_tensor("/model/w", sample({2}, DType::f32));
    f.set_string_attr("/", "format", "linea-checkpoint");
    f.set_string_attr("/", "empty", "");
    f.set_int_attr("/", "step", 1234567890123LL);
    f.set_int_attr("/", "step", 42);  // replaces
    f.set_double_attr("/model", "lr", 3e-4);
    f.set_int_attr("/model/w", "version", -7);
    f.flush();
  }
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.string_attr("/", "format"), "linea-checkpoint");
  EXPECT_EQ(f.string_attr("/", "empty"), "");
  EXPECT_EQ(f.int_attr("/", "step"), 42);
  EXPECT_EQ(f.double_attr("/model", "lr"), 3e-4);
  EXPECT_EQ(f.double_attr("/", "step"), 42.0);
  EXPECT_EQ(f.int_attr("/model/w", "version"), -7);
  EXPECT_TRUE(f.has_attr("/model", "lr"));
  EXPECT_FALSE(f.has_attr("/model", "missing"));
  expect_error<CheckpointError>([&] { f.int_attr("/", "missing"); }, "no attribute 'missing' on '/'");
  expect_error<CheckpointError>([&] { f.int_attr("/", "format"); }, "is not an integer");
  expect_error<CheckpointError>([&] { f.string_attr("/", "step"); }, "is not a string");
}

TEST(H5File, StreamsGrowInChunksAndReadByHyperslab) {
  TempDir dir;
  std::string path = dir.file("t.h5");
  std::vector<double> all;
  {
    H5File f = H5File::create(path, H5Errors::data);
    f.create_stream("/tokens", StreamElement::u16, 8);
    f.create_stream("/big", StreamElement::u32, 4);
    f.create_stream("/offsets", StreamElement::i64, 4);
    for (int piece = 0; piece < 5; ++piece) {
      std::vector<double> v;
      for (int i = 0; i < 7; ++i) v.push_back(double((piece * 7 + i) * 1000 % 65536));
      all.insert(all.end(), v.begin(), v.end());
      f.append("/tokens", Tensor::from_vector(v, {7}, DType::i64));
    }
    f.append("/tokens", Tensor::empty({0}, DType::i64));
    f.append("/big", Tensor::from_vector({70000, 4294967295.0}, {2}, DType::i64));
    f.append("/offsets", Tensor::from_vector({-5, 1e15}, {2}, DType::i64));
    expect_error<DataError>([&] { f.append("/tokens", Tensor::from_vector({1, 65536}, {2}, DType::i64)); },
                            "value 65536 at position 1 does not fit the uint16 stream '/tokens'");
    expect_error<DataError>([&] { f.append("/big", Tensor::from_vector({-1}, {1}, DType::i32)); },
                            "does not fit the uint32 stream");
  }
  H5File f = H5File::open_read(path, H5Errors::data);
  EXPECT_EQ(f.length("/tokens"), 35);
  EXPECT_EQ(f.read_tensor("/tokens").to_vector(), all);
  EXPECT_EQ(f.read_tensor("/tokens").dtype(), DType::i32);
  for (int64_t start : {0, 5, 8, 13, 30})
    for (int64_t count : {0, 1, 5}) {
      Tensor r = f.read_range("/tokens", start, count);
      EXPECT_EQ(r.dtype(), DType::i64);
      EXPECT_EQ(r.to_vector(), std::vector<double>(all.begin() + start, all.begin() + start + count));
    }
  EXPECT_EQ(f.read_range("/tokens", 33, 2, DType::i32).to_vector(), std::vector<double>(all.end() - 2, all.end()));
  EXPECT_EQ(f.read_range("/big", 0, 2).to_vector(), (std::vector<double>{70000, 4294967295.0}));
  EXPECT_EQ(f.read_tensor("/big").dtype(), DType::i64);
  EXPECT_EQ(f.read_range("/offsets", 0, 2).to_vector(), (std::vector<double>{-5, 1e15}));
  expect_error<DataError>([&] { f.read_range("/tokens", 30, 6); },
                          "range [30, 36) is outside dataset '/tokens' of length 35");
  expect_error<DataError>([&] { f.read_range("/tokens", -1, 2); }, "is outside dataset");
}

TEST(H5File, ScalarAndMatrixDatasetsHaveNoStreamLength) {
  TempDir dir;
  H5File f = H5File::create(dir.file("t.h5"));
  f.write_tensor("/m", sample({2, 2}, DType::f32));
  expect_error<CheckpointError>([&] { f.length("/m"); }, "has shape [2, 2], expected 1-D");
}

TEST(H5File, BadFilesGiveOneClearError) {
  TempDir dir;
  std::string good = dir.file("good.h5");
  {
    H5File f = H5File::create(good);
    f.write_tensor("/w", sample({64, 64}, DType::f32));
  }
  std::string text = dir.file("notes.txt");
  std::ofstream(text) << "this is not an HDF5 file\n";
  std::string truncated = dir.file("truncated.h5");
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  std::string empty = dir.file("empty.h5");
  std::ofstream(empty).close();

  expect_error<CheckpointError>([&] { H5File::open_read(text); }, "not an HDF5 file or truncated: " + text);
  expect_error<CheckpointError>([&] { H5File::open_read(truncated); }, "not an HDF5 file or truncated: " + truncated);
  expect_error<CheckpointError>([&] { H5File::open_read(empty); }, "not an HDF5 file or truncated: " + empty);
  expect_error<CheckpointError>([&] { H5File::open_read(dir.path()); }, "not an HDF5 file or truncated");
  expect_error<DataError>([&] { H5File::open_read(text, H5Errors::data); }, "not an HDF5 file or truncated: " + text);
  expect_error<CheckpointError>([&] { H5File::open_read(dir.file("missing.h5")); }, "missing.h5: no such file");
  expect_error<CheckpointError>([&] { H5File::create(dir.file("no/such/dir/x.h5")); }, "cannot create HDF5 file");
}

TEST(H5File, MovedFromFilesAreClosedAndMovedToFilesWork) {
  TempDir dir;
  H5File a = H5File::create(dir.file("a.h5"));
  H5File b = std::move(a);
  EXPECT_FALSE(a.is_open());
  b.write_tensor("/x", sample({2}, DType::i64));
  b.close();
  EXPECT_FALSE(b.is_open());
  a = H5File::open_read(dir.file("a.h5"));
  EXPECT_EQ(a.read_tensor("/x").to_vector(), sample({2}, DType::i64).to_vector());
}
