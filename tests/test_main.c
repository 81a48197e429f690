/* CUnit runner shared by every library's test binary. `-s suite[:case]` selects; the exit
 * status is the number of failures (capped at 255), so ctest sees any failing assertion. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "mo_test_registry.h"

int main(int argc, char **argv)
{
    const char *sel = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            sel = argv[++i];
        else {
            fprintf(stderr, "usage: %s [-s suite[:case]]\n", argv[0]);
            return 2;
        }
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    for (int i = 0; mo_test_registry[i]; i++)
        if (CU_register_suites(mo_test_registry[i]) != CUE_SUCCESS) {
            fprintf(stderr, "suite registration failed: %s\n", CU_get_error_msg());
            return 1;
        }
    CU_basic_set_mode(CU_BRM_NORMAL);
    if (sel) {
        char suite[128], tcase[128] = "";
        if (sscanf(sel, "%127[^:]:%127s", suite, tcase) < 1)
            return 2;
        CU_pSuite s = CU_get_suite(suite);
        if (!s) {
            fprintf(stderr, "no suite %s\n", suite);
            return 2;
        }
        if (tcase[0]) {
            CU_pTest t = CU_get_test(s, tcase);
            if (!t) {
                fprintf(stderr, "no case %s\n", tcase);
                return 2;
            }
            CU_basic_run_test(s, t);
        } else {
            CU_basic_run_suite(s);
        }
    } else {
        CU_basic_run_tests();
    }
    unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return fails > 255 ? 255 : (int)fails;
}
