// Every differentiable op, in one include (the torch.nn.functional of linea).
#pragma once
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/views.h"
