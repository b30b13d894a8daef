"""Tests of tensorlib.models: the model protocol, and the checks of what goes into a model and what comes out.

An exact rank is a certificate only if the matrix really holds the model's values mod p, so in exact
mode every output is checked: integers are reduced mod p (Python ints of any size too); floats, NaN,
masked arrays and non-numbers are refused with a message naming the model (issue 11).
"""

import numpy as np
import pytest
from conftest import InnerProduct, P, to_objects
from hypothesis import given
from hypothesis import strategies as st

from tensorlib.models import check_values, evaluate_model, upper_bound_of, validate_inputs, validate_model
from tensorlib.networks import SumOfProducts

# -- validate_model ------------------------------------------------------------------------------


def test_validate_model_accepts_protocol_objects_and_returns_them():
    model = InnerProduct(3)
    assert validate_model(model) is model
    network = SumOfProducts(3, 2, 2)
    assert validate_model(network) is network


def test_validate_model_names_the_missing_attributes():
    class NoDims:
        def evaluate(self, X, p=None):
            return X

    with pytest.raises(TypeError, match="NoDims lacks n_inputs, input_dim"):
        validate_model(NoDims())
    with pytest.raises(TypeError, match="int lacks n_inputs, input_dim, evaluate"):
        validate_model(3)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "2", None])
def test_validate_model_rejects_non_positive_int_dimensions(value):
    model = InnerProduct(3)
    model.input_dim = value
    with pytest.raises(TypeError, match="model.input_dim must be a positive int"):
        validate_model(model)


# -- validate_inputs -----------------------------------------------------------------------------

def test_validate_inputs_casts_floats_and_reduces_integers_mod_p():
    X = np.array([[[1, -2], [9, 3]]])
    out = validate_inputs(X, 2, 2)
    assert out.dtype == np.float64 and out.tolist() == X.tolist()
    np.testing.assert_array_equal(validate_inputs(X, 2, 2, p=7), np.mod(X, 7))
    np.testing.assert_array_equal(validate_inputs(X.astype(bool), 2, 2, p=7), X.astype(bool).astype(int))


def test_validate_inputs_reduces_uint64_inputs_above_2_to_63_correctly():
    X = np.full((1, 2, 2), 2**64 - 1, dtype=np.uint64)
    np.testing.assert_array_equal(validate_inputs(X, 2, 2, p=7), np.full((1, 2, 2), (2**64 - 1) % 7))


@given(values=st.lists(st.integers(-2**80, 2**80), min_size=4, max_size=4), p=st.sampled_from([2, 7, 65521, P]))
def test_validate_inputs_reduces_python_ints_of_any_size_exactly(values, p):
    # Issue 11: numpy reads a list mixing ints >= 2**63 with small ints as float64 (rounding them), and
    # ints >= 2**64 as objects. Both must reach GF(p) as the exact residues.
    nested = [[values[:2], values[2:]]]
    expected = [[[v % p for v in values[:2]], [v % p for v in values[2:]]]]
    for form in (nested, np.array(nested, dtype=object)):
        out = validate_inputs(form, 2, 2, p=p)
        assert out.dtype == np.int64 and out.tolist() == expected


def test_a_list_with_an_int_of_2_to_63_gives_the_same_value_as_its_residue():
    # The example of issue 11: 2**63 next to small ints used to be refused as "float64".
    model = SumOfProducts(3, 2, 2, seed=0)
    X = [[[2**63, 5], [1, 2], [3, 4]]]
    reduced = np.array([[[2**63 % P, 5], [1, 2], [3, 4]]])
    np.testing.assert_array_equal(model.evaluate(X, p=P), model.evaluate(reduced, p=P))
    np.testing.assert_array_equal(model(X, P), model.evaluate(reduced, P))


def test_validate_inputs_converts_big_python_ints_to_float64_without_p():
    out = validate_inputs([[[2**64, -5], [1, 2]]], 2, 2)
    assert out.dtype == np.float64 and out[0, 0, 0] == float(2**64)
    with pytest.raises(ValueError, match="X holds an integer too large for float64"):
        validate_inputs(np.array([[[2**2000, 1], [1, 2]]], dtype=object), 2, 2)


@pytest.mark.parametrize("p", [None, 7])
def test_validate_inputs_refuses_masked_arrays(p):
    X = np.ma.masked_array(np.ones((1, 2, 2), dtype=np.int64), mask=[[[True, False], [False, False]]])
    with pytest.raises(TypeError, match="X is a masked array; tensorlib would ignore its mask"):
        validate_inputs(X, 2, 2, p)
    with pytest.raises(TypeError, match="masked array"):
        SumOfProducts(2, 2, 2).evaluate(X, p)


@pytest.mark.parametrize("X, p, exc, msg", [
    (np.ones((4, 2)), None, ValueError, r"X must have shape \(batch, n_inputs=2, input_dim=3\), got \(4, 2\)"),
    (np.ones((1, 3, 3)), None, ValueError, r"X must have shape \(batch, n_inputs=2, input_dim=3\), got \(1, 3, 3\)"),
    (np.ones((1, 2, 3, 1)), None, ValueError, "X must have shape"),
    (np.full((1, 2, 3), np.nan), None, ValueError, "X contains NaN or inf"),
    (np.full((1, 2, 3), np.inf), None, ValueError, "X contains NaN or inf"),
    (np.ones((1, 2, 3)), 7, TypeError, r"X must have an integer dtype in exact \(mod p\) arithmetic, got float64"),
    ([[[1.0, 2, 3], [2**63, 1, 1]]], 7, TypeError, "X must have an integer dtype in exact"),
    (np.ones((1, 2, 3)) * 1j, None, TypeError, "X must be real"),
    (np.full((1, 2, 3), "a"), None, TypeError, "X must be a numeric array"),
    ("abc", None, TypeError, "X must be a numeric array, got str"),
    (np.full((1, 2, 3), None), None, TypeError, "X must be a numeric array, got dtype object"),
    (np.array([[[1, 2, 3], [1.5, 2, 3]]], dtype=object), 7, TypeError, "X must be a numeric array, got dtype object"),
])
def test_validate_inputs_rejects_bad_batches(X, p, exc, msg):
    with pytest.raises(exc, match=msg):
        validate_inputs(X, 2, 3, p)


# -- evaluate_model and check_values -------------------------------------------------------------

class Returns:
    """A model that returns whatever it is given (to probe the output checks)."""

    n_inputs, input_dim = 2, 1

    def __init__(self, value):
        self.value = value

    def evaluate(self, X, p=None):
        return self.value


def test_evaluate_model_calls_evaluate_or_the_function_with_p():
    X = np.array([[[2], [3]], [[4], [5]]])
    np.testing.assert_array_equal(evaluate_model(InnerProduct(1), X, 7), [6, 20 % 7])
    seen = []

    def f(X, p=None):
        seen.append(p)
        return X[:, 0, 0] * X[:, 1, 0]

    assert evaluate_model(f, X.astype(float), None).tolist() == [6.0, 20.0]
    assert evaluate_model(f, X, 5).tolist() == [1, 0]
    assert seen == [None, 5]
    assert evaluate_model(lambda X: X[:, 0, 0], X.astype(float), None).tolist() == [2.0, 4.0]


@pytest.mark.parametrize("value, exc, msg", [
    (np.array([0.5, 1.0]), TypeError, r"model Returns returned dtype float64 with p=7: in exact mode"),
    (np.array([np.nan, 1.0]), TypeError, r"model Returns returned dtype float64 with p=7"),
    (np.array([1.0, 2.0], dtype=np.float32), TypeError, r"model Returns returned dtype float32 with p=7"),
    (np.array([1 + 1j, 2]), TypeError, r"model Returns returned dtype complex128 with p=7"),
    (np.array(["a", "b"]), TypeError, r"model Returns returned dtype <U1 with p=7"),
    (np.array([1.5, 2], dtype=object), TypeError, r"the values returned by model Returns must be a numeric array"),
    (np.array([1, 2, 3]), ValueError, r"model Returns returned shape \(3,\); the protocol asks for shape \(2,\)"),
    (np.ma.masked_array([1, 2], mask=[True, False]), TypeError, "model Returns returned a masked array"),
])
def test_exact_mode_refuses_outputs_that_are_not_integers_naming_the_model(value, exc, msg):
    with pytest.raises(exc, match=msg):
        evaluate_model(Returns(value), np.zeros((2, 2, 1), dtype=np.int64), 7)


@pytest.mark.parametrize("value, expected", [
    (np.array([-1, 9]), [6, 2]),                                 # unreduced int64: reduced, not refused
    (np.array([True, False]), [1, 0]),
    (np.array([2**64 - 1, 8], dtype=np.uint64), [(2**64 - 1) % 7, 1]),
    (np.array([2**100 + 3, -2**70], dtype=object), [(2**100 + 3) % 7, (-2**70) % 7]),
    ([2**63, 5], [2**63 % 7, 5]),                                # a list numpy would read as float64
    (np.array([3, 4], dtype=np.int8), [3, 4]),
])
def test_exact_mode_reduces_integer_outputs_mod_p(value, expected):
    out = evaluate_model(Returns(value), np.zeros((2, 2, 1), dtype=np.int64), 7)
    assert out.dtype == np.int64 and out.tolist() == expected


def test_residue_outputs_pass_without_a_copy():
    out = np.array([0, 6], dtype=np.int64)
    assert check_values(out, (2,), 7, "model M") is out


@pytest.mark.parametrize("value, exc, msg", [
    (np.array([np.nan, 1.0]), ValueError, "model Returns returned NaN or inf in float64 mode"),
    (np.array([np.inf, 1.0]), ValueError, "model Returns returned NaN or inf in float64 mode"),
    (np.array([1j, 1.0]), TypeError, "model Returns returned dtype complex128 in float64 mode"),
    (np.array([1, None], dtype=object), TypeError, "model Returns returned dtype object in float64 mode"),
    (np.ones((2, 1)), ValueError, r"returned shape \(2, 1\); the protocol asks for shape \(2,\)"),
])
def test_float_mode_refuses_non_finite_or_non_real_outputs(value, exc, msg):
    with pytest.raises(exc, match=msg):
        evaluate_model(Returns(value), np.zeros((2, 2, 1)), None)


def test_float_mode_casts_real_outputs_to_float64():
    out = evaluate_model(Returns(np.array([1, 2], dtype=np.int32)), np.zeros((2, 2, 1)), None)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0]


def test_check_values_names_its_source_and_checks_block_shapes():
    with pytest.raises(ValueError, match=r"Net.grid_matrix_block returned shape \(2, 2\); the protocol asks for "
                                         r"shape \(2, 3\)"):
        check_values(np.zeros((2, 2), dtype=np.int64), (2, 3), 7, "Net.grid_matrix_block")
    np.testing.assert_array_equal(check_values(to_objects([[8, -1]]), (1, 2), 7, "Net"), [[1, 6]])


# -- upper_bound_of ------------------------------------------------------------------------------

class Bounded(InnerProduct):
    def __init__(self, bound):
        super().__init__(2)
        self.bound = bound

    def rank_upper_bound(self, partition):
        return self.bound


def test_upper_bound_of_reads_the_models_bound():
    assert upper_bound_of(InnerProduct(2), ((0,), (1,))) is None  # no method
    assert upper_bound_of(Bounded(None), ((0,), (1,))) is None
    assert upper_bound_of(Bounded(3), ((0,), (1,))) == 3
    out = upper_bound_of(Bounded(np.int64(5)), ((0,), (1,)))
    assert out == 5 and type(out) is int
    assert upper_bound_of(SumOfProducts(4, 2, 3), ((0, 1), (2, 3))) == 3


@pytest.mark.parametrize("bound, exc, msg", [
    (0, ValueError, r"Bounded.rank_upper_bound\(partition\) must be at least 1 \(a separation rank bound"),
    (-2, ValueError, r"Bounded.rank_upper_bound\(partition\) must be at least 1"),
    (2.0, TypeError, r"Bounded.rank_upper_bound\(partition\) must be an int, got float"),
    (np.float64(3.0), TypeError, r"must be an int, got float64"),
    (True, TypeError, r"Bounded.rank_upper_bound\(partition\) must be an int, got bool"),
    ("4", TypeError, r"must be an int, got str"),
])
def test_upper_bound_of_refuses_bounds_that_are_not_positive_ints(bound, exc, msg):
    with pytest.raises(exc, match=msg):
        upper_bound_of(Bounded(bound), ((0,), (1,)))


def test_a_rank_upper_bound_that_is_not_callable_is_refused_naming_the_model():
    class Model:
        n_inputs, input_dim, rank_upper_bound = 2, 1, 3

        def evaluate(self, X, p=None):
            return X[:, 0, 0]

    with pytest.raises(TypeError, match=r"Model.rank_upper_bound must be a method"):
        upper_bound_of(Model(), ((0,), (1,)))
