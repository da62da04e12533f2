// H5File over the HDF5 C API: every call is checked by H5_CHECKED, which names the file,
// the object and HDF5's own reason; HDF5's automatic error printing is turned off.
#include "core/io/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <type_traits>

namespace linea {
namespace {

static_assert(std::is_same<hid_t, int64_t>::value, "H5File stores hid_t as int64_t");

void silence_hdf5() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

// The innermost message on HDF5's error stack (the most specific reason), then clears it.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? "unknown HDF5 error" : reason;
}

// Returns `result` unless it is negative (HDF5's failure value), else throws naming the call.
template <class R>
R checked(const H5File& file, R result, const char* call, const std::string& object, int line) {
  if (result >= 0) return result;
  std::string function(call, std::strcspn(call, "("));
  file.fail(str_cat("HDF5 ", function, " failed on '", object, "': ", hdf5_reason(), " (hdf5_file.cpp:", line, ")"));
}
#define H5_CHECKED(call, object) checked(*this, (call), #call, (object), __LINE__)

// An owned HDF5 identifier, closed with the matching H5*close.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Id() { close_(id_); }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// IEEE half precision as h5py writes float16.
hid_t new_half_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return t;
}

// The in-memory HDF5 type of a tensor dtype (a fresh copy the caller closes).
hid_t new_memory_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return H5Tcopy(H5T_NATIVE_FLOAT);
    case DType::f64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case DType::f16: return new_half_type();
    case DType::bf16: return H5Tcopy(H5T_NATIVE_UINT16);
    case DType::i32: return H5Tcopy(H5T_NATIVE_INT32);
    case DType::i64: return H5Tcopy(H5T_NATIVE_INT64);
    case DType::u8: return H5Tcopy(H5T_NATIVE_UINT8);
  }
  return -1;
}

hid_t new_file_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return H5Tcopy(H5T_IEEE_F32LE);
    case DType::f64: return H5Tcopy(H5T_IEEE_F64LE);
    case DType::f16: return new_half_type();
    case DType::bf16: return H5Tcopy(H5T_STD_U16LE);
    case DType::i32: return H5Tcopy(H5T_STD_I32LE);
    case DType::i64: return H5Tcopy(H5T_STD_I64LE);
    case DType::u8: return H5Tcopy(H5T_STD_U8LE);
  }
  return -1;
}

// A link-creation property list that creates missing intermediate groups.
hid_t new_intermediate_lcpl() {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) < 0) {
    H5Pclose(lcpl);
    return -1;
  }
  return lcpl;
}

Shape space_shape(hid_t space, int& ndims) {
  ndims = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(ndims, 0));
  if (ndims > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

const char* stream_element_name(StreamElement e) {
  switch (e) {
    case StreamElement::u16: return "uint16";
    case StreamElement::u32: return "uint32";
    case StreamElement::i64: return "int64";
  }
  return "?";
}

}  // namespace

H5File H5File::create(const std::string& path, H5Errors errors) {
  silence_hdf5();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5File file(-1, path, errors);
  if (id < 0) file.fail(str_cat("cannot create HDF5 file: ", hdf5_reason()));
  file.id_ = id;
  return file;
}

H5File H5File::open_read(const std::string& path, H5Errors errors) {
  silence_hdf5();
  H5File file(-1, path, errors);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) file.fail("no such file");
  auto not_hdf5 = [&](const std::string& why) {
    std::string message = str_cat("not an HDF5 file or truncated: ", path, why.empty() ? "" : " (" + why + ")");
    if (errors == H5Errors::data) throw DataError(message);
    throw CheckpointError(message);
  };
  if (std::filesystem::is_directory(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    not_hdf5("");
  }
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) not_hdf5(hdf5_reason());
  file.id_ = id;
  return file;
}

H5File::H5File(H5File&& other) noexcept : id_(other.id_), path_(std::move(other.path_)), errors_(other.errors_) {
  other.id_ = -1;
}

H5File& H5File::operator=(H5File&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) H5Fclose(id_);
    id_ = other.id_;
    path_ = std::move(other.path_);
    errors_ = other.errors_;
    other.id_ = -1;
  }
  return *this;
}

H5File::~H5File() {
  if (id_ >= 0) H5Fclose(id_);
}

void H5File::fail(const std::string& message) const {
  std::string full = str_cat(path_, ": ", message);
  if (errors_ == H5Errors::data) throw DataError(full);
  throw CheckpointError(full);
}

void H5File::flush() {
  LINEA_ASSERT(is_open(), "flush of a closed H5File");
  H5_CHECKED(H5Fflush(id_, H5F_SCOPE_GLOBAL), "/");
}

void H5File::close() {
  if (id_ < 0) return;
  hid_t id = id_;
  id_ = -1;
  H5_CHECKED(H5Fclose(id), "/");
}

bool H5File::exists(const std::string& object) const {
  LINEA_ASSERT(is_open(), "exists() on a closed H5File");
  if (object.empty() || object[0] != '/') fail(str_cat("object path '", object, "' must start with '/'"));
  if (object == "/") return true;
  // H5Lexists only checks the last component, so walk the path from the root; every
  // intermediate component must be a group.
  size_t end = 0;
  do {
    end = object.find('/', end + 1);
    std::string prefix = object.substr(0, end);
    if (H5_CHECKED(H5Lexists(id_, prefix.c_str(), H5P_DEFAULT), prefix) <= 0) return false;
    if (end != std::string::npos) {
      H5O_info_t info;
      H5_CHECKED(H5Oget_info_by_name2(id_, prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), prefix);
      if (info.type != H5O_TYPE_GROUP) return false;
    }
  } while (end != std::string::npos);
  return true;
}

int64_t H5File::open_object(const std::string& object) const {
  if (!exists(object)) fail(str_cat("no object '", object, "'"));
  return H5_CHECKED(H5Oopen(id_, object.c_str(), H5P_DEFAULT), object);
}

int64_t H5File::open_dataset(const std::string& object) const {
  if (!exists(object)) fail(str_cat("no dataset '", object, "'"));
  H5O_info_t info;
  H5_CHECKED(H5Oget_info_by_name2(id_, object.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), object);
  if (info.type != H5O_TYPE_DATASET) fail(str_cat("'", object, "' is not a dataset"));
  return H5_CHECKED(H5Dopen2(id_, object.c_str(), H5P_DEFAULT), object);
}

std::vector<std::string> H5File::list(const std::string& group) const {
  H5Id g(open_object(group), H5Oclose);
  std::vector<std::string> names;
  H5_CHECKED(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, nullptr,
                        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
                          static_cast<std::vector<std::string>*>(out)->push_back(name);
                          return 0;
                        },
                        &names),
             group);
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::write_tensor(const std::string& object, const Tensor& tensor) {
  LINEA_ASSERT(tensor.defined(), "write_tensor of an undefined tensor to ", object);
  if (exists(object)) fail(str_cat("object '", object, "' already exists"));
  Tensor t = tensor.to(Device::cpu()).contiguous();
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  H5Id space(t.dim() == 0 ? H5_CHECKED(H5Screate(H5S_SCALAR), object)
                          : H5_CHECKED(H5Screate_simple(int(dims.size()), dims.data(), nullptr), object),
             H5Sclose);
  H5Id file_type(H5_CHECKED(new_file_type(t.dtype()), object), H5Tclose);
  H5Id mem_type(H5_CHECKED(new_memory_type(t.dtype()), object), H5Tclose);
  H5Id lcpl(H5_CHECKED(new_intermediate_lcpl(), object), H5Pclose);
  H5Id dcpl(H5_CHECKED(H5Pcreate(H5P_DATASET_CREATE), object), H5Pclose);
  H5_CHECKED(H5Pset_obj_track_times(dcpl, false), object);  // no timestamps: equal data, equal bytes
  H5Id dset(H5_CHECKED(H5Dcreate2(id_, object.c_str(), file_type, space, lcpl, dcpl, H5P_DEFAULT), object),
            H5Dclose);
  if (t.numel() > 0) H5_CHECKED(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), object);
  if (t.dtype() == DType::bf16) set_string_attr(object, "linea_dtype", "bf16");
}

Shape H5File::dataset_shape(const std::string& object) const {
  H5Id dset(open_dataset(object), H5Dclose);
  H5Id space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  int ndims = 0;
  Shape shape = space_shape(space, ndims);
  H5_CHECKED(ndims, object);
  return shape;
}

Tensor H5File::read_tensor(const std::string& object) const {
  Shape shape = dataset_shape(object);
  H5Id dset(open_dataset(object), H5Dclose);
  DType dtype;
  if (has_attr(object, "linea_dtype")) {
    std::string name = string_attr(object, "linea_dtype");
    try {
      dtype = dtype_from_name(name);
    } catch (const Error&) {
      fail(str_cat("dataset '", object, "' has unknown linea_dtype '", name, "'"));
    }
  } else {
    H5Id type(H5_CHECKED(H5Dget_type(dset), object), H5Tclose);
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    bool is_signed = cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2;
    if (cls == H5T_FLOAT && (size == 2 || size == 4 || size == 8)) {
      dtype = size == 2 ? DType::f16 : size == 4 ? DType::f32 : DType::f64;
    } else if (cls == H5T_INTEGER && size == 1 && !is_signed) {
      dtype = DType::u8;
    } else if (cls == H5T_INTEGER && (is_signed ? size <= 4 : size == 2)) {
      dtype = DType::i32;
    } else if (cls == H5T_INTEGER && (is_signed ? size == 8 : size == 4)) {
      dtype = DType::i64;
    } else {
      fail(str_cat("dataset '", object, "' has an HDF5 type (class ", int(cls), ", ", size,
                   " bytes) that maps to no linea dtype"));
    }
  }
  Tensor out = Tensor::empty(shape, dtype);
  H5Id mem_type(H5_CHECKED(new_memory_type(dtype), object), H5Tclose);
  if (out.numel() > 0) H5_CHECKED(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()), object);
  return out;
}

void H5File::create_stream(const std::string& object, StreamElement element, int64_t chunk_elements) {
  LINEA_ASSERT(chunk_elements > 0, "create_stream: chunk_elements must be positive");
  if (exists(object)) fail(str_cat("object '", object, "' already exists"));
  hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {hsize_t(chunk_elements)};
  H5Id space(H5_CHECKED(H5Screate_simple(1, dims, max_dims), object), H5Sclose);
  H5Id dcpl(H5_CHECKED(H5Pcreate(H5P_DATASET_CREATE), object), H5Pclose);
  H5_CHECKED(H5Pset_chunk(dcpl, 1, chunk), object);
  H5_CHECKED(H5Pset_obj_track_times(dcpl, false), object);  // no timestamps: equal data, equal bytes
  hid_t type = element == StreamElement::u16 ? H5T_STD_U16LE : element == StreamElement::u32 ? H5T_STD_U32LE
                                                                                            : H5T_STD_I64LE;
  H5Id lcpl(H5_CHECKED(new_intermediate_lcpl(), object), H5Pclose);
  H5Id dset(H5_CHECKED(H5Dcreate2(id_, object.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT), object), H5Dclose);
}

void H5File::append(const std::string& object, const Tensor& values) {
  LINEA_ASSERT(values.dim() == 1 && (values.dtype() == DType::i32 || values.dtype() == DType::i64 ||
                                     values.dtype() == DType::u8),
               "append to '", object, "' needs a 1-D integer tensor, got ", values.desc());
  H5Id dset(open_dataset(object), H5Dclose);
  Tensor v = values.to(Device::cpu(), DType::i64).contiguous();
  const int64_t* p = v.data<int64_t>();
  H5Id type(H5_CHECKED(H5Dget_type(dset), object), H5Tclose);
  StreamElement element = H5Tequal(type, H5T_STD_U16LE) > 0   ? StreamElement::u16
                          : H5Tequal(type, H5T_STD_U32LE) > 0 ? StreamElement::u32
                                                               : StreamElement::i64;
  int64_t max_value = element == StreamElement::u16 ? 0xffff : element == StreamElement::u32 ? 0xffffffffLL : INT64_MAX;
  int64_t min_value = element == StreamElement::i64 ? INT64_MIN : 0;
  for (int64_t i = 0; i < v.numel(); ++i)
    if (p[i] < min_value || p[i] > max_value)
      fail(str_cat("value ", p[i], " at position ", i, " does not fit the ", stream_element_name(element),
                   " stream '", object, "'"));
  if (v.numel() == 0) return;
  hsize_t old_len = hsize_t(length(object)), count[1] = {hsize_t(v.numel())}, start[1] = {old_len};
  hsize_t new_len[1] = {old_len + count[0]};
  H5_CHECKED(H5Dset_extent(dset, new_len), object);
  H5Id file_space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  H5_CHECKED(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), object);
  H5Id mem_space(H5_CHECKED(H5Screate_simple(1, count, nullptr), object), H5Sclose);
  H5_CHECKED(H5Dwrite(dset, H5T_NATIVE_INT64, mem_space, file_space, H5P_DEFAULT, p), object);
}

int64_t H5File::length(const std::string& object) const {
  Shape shape = dataset_shape(object);
  if (shape.size() != 1) fail(str_cat("dataset '", object, "' has shape ", shape_str(shape), ", expected 1-D"));
  return shape[0];
}

Tensor H5File::read_range(const std::string& object, int64_t start, int64_t count, DType dtype) const {
  int64_t len = length(object);
  if (start < 0 || count < 0 || start + count > len)
    fail(str_cat("range [", start, ", ", start + count, ") is outside dataset '", object, "' of length ", len));
  Tensor out = Tensor::empty({count}, dtype);
  if (count == 0) return out;
  H5Id dset(open_dataset(object), H5Dclose);
  hsize_t offset[1] = {hsize_t(start)}, size[1] = {hsize_t(count)};
  H5Id file_space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  H5_CHECKED(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, offset, nullptr, size, nullptr), object);
  H5Id mem_space(H5_CHECKED(H5Screate_simple(1, size, nullptr), object), H5Sclose);
  H5Id mem_type(H5_CHECKED(new_memory_type(dtype), object), H5Tclose);
  H5_CHECKED(H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, out.data_ptr()), object);
  return out;
}

// ---- attributes ----

void H5File::set_attr(const std::string& object, const std::string& name, int64_t type, const void* value) {
  H5Id obj(open_object(object), H5Oclose);
  std::string where = object + "@" + name;
  if (H5_CHECKED(H5Aexists(obj, name.c_str()), where) > 0) H5_CHECKED(H5Adelete(obj, name.c_str()), where);
  H5Id space(H5_CHECKED(H5Screate(H5S_SCALAR), where), H5Sclose);
  H5Id attr(H5_CHECKED(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), where), H5Aclose);
  H5_CHECKED(H5Awrite(attr, type, value), where);
}

void H5File::set_string_attr(const std::string& object, const std::string& name, const std::string& value) {
  std::string where = object + "@" + name;
  H5Id type(H5_CHECKED(H5Tcopy(H5T_C_S1), where), H5Tclose);
  H5_CHECKED(H5Tset_size(type, std::max<size_t>(value.size(), 1)), where);
  H5_CHECKED(H5Tset_strpad(type, H5T_STR_NULLPAD), where);
  H5_CHECKED(H5Tset_cset(type, H5T_CSET_UTF8), where);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  set_attr(object, name, type, padded.data());
}

void H5File::set_int_attr(const std::string& object, const std::string& name, int64_t value) {
  set_attr(object, name, H5T_NATIVE_INT64, &value);
}

void H5File::set_double_attr(const std::string& object, const std::string& name, double value) {
  set_attr(object, name, H5T_NATIVE_DOUBLE, &value);
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  H5Id obj(open_object(object), H5Oclose);
  return H5_CHECKED(H5Aexists(obj, name.c_str()), object + "@" + name) > 0;
}

int64_t H5File::open_attr(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(str_cat("no attribute '", name, "' on '", object, "'"));
  return H5_CHECKED(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), object + "@" + name);
}

std::string H5File::string_attr(const std::string& object, const std::string& name) const {
  std::string where = object + "@" + name;
  H5Id attr(open_attr(object, name), H5Aclose);
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING) fail(str_cat("attribute '", where, "' is not a string"));
  if (H5_CHECKED(H5Tis_variable_str(type), where) > 0) {  // as h5py writes str
    H5Id mem_type(H5_CHECKED(H5Tcopy(H5T_C_S1), where), H5Tclose);
    H5_CHECKED(H5Tset_size(mem_type, H5T_VARIABLE), where);
    char* text = nullptr;
    H5_CHECKED(H5Aread(attr, mem_type, &text), where);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type), '\0');
  H5_CHECKED(H5Aread(attr, type, value.data()), where);
  value.resize(std::strlen(value.c_str()));  // drop null padding
  return value;
}

int64_t H5File::int_attr(const std::string& object, const std::string& name) const {
  std::string where = object + "@" + name;
  H5Id attr(open_attr(object, name), H5Aclose);
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  if (H5Tget_class(type) != H5T_INTEGER) fail(str_cat("attribute '", where, "' is not an integer"));
  int64_t value = 0;
  H5_CHECKED(H5Aread(attr, H5T_NATIVE_INT64, &value), where);
  return value;
}

double H5File::double_attr(const std::string& object, const std::string& name) const {
  std::string where = object + "@" + name;
  H5Id attr(open_attr(object, name), H5Aclose);
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(str_cat("attribute '", where, "' is not a number"));
  double value = 0;
  H5_CHECKED(H5Aread(attr, H5T_NATIVE_DOUBLE, &value), where);
  return value;
}

}  // namespace linea
