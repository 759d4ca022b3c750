/* upkeep key generate|list|add|remove: key files and the key objects of encrypted
 * repositories (repo/keyring.h). A repository is opened with its section's credential
 * (key_file, passphrase_file or UPKEEP_PASSPHRASE); new keys come from files only, never from
 * arguments, which other users can read in the process list. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep key generate FILE\n"
           "       upkeep key list [--repository NAME]\n"
           "       upkeep key add [--repository NAME] (--new-key-file FILE |\n"
           "                      --new-passphrase-file FILE) [--write-only]\n"
           "       upkeep key remove ID [--repository NAME]\n"
           "\n"
           "Keys of encrypted repositories (encryption = aes-256 or public-key). A repository's\n"
           "data is sealed under a random master key; each key object holds it wrapped for one\n"
           "key file or passphrase, so adding or removing a way in rewrites one small object.\n"
           "\n"
           "  generate FILE   write a new key file: 32 random bytes, mode 0600\n"
           "  list            the repository's keys: id, kind, credential, host, when made\n"
           "  add             a key for another key file or passphrase (rotate: add the new one,\n"
           "                  then remove the old); --write-only (public-key repositories): a\n"
           "                  key that writes backups but cannot read them, for application\n"
           "                  hosts\n"
           "  remove ID       a key; the last full key is never removed\n"
           "\n"
           "Options:\n"
           "  -r, --repository NAME  the repository (default: the only encrypted one)\n");
}

static const ConfigRepository *pick(const Config *c, const char *name)
{
    if (name)
        return config_find_repository(c, name);
    const ConfigRepository *found = NULL;
    for (size_t i = 0; i < c->n_repositories; i++) {
        const ConfigRepository *r = c->repositories[i];
        if (r->encryption && strcmp(r->encryption, "none") != 0) {
            if (found)
                return NULL;
            found = r;
        }
    }
    return found;
}

int cmd_key(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        help();
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    static const struct option options[] = {{"repository", required_argument, NULL, 'r'},
                                            {"new-key-file", required_argument, NULL, 'k'},
                                            {"new-passphrase-file", required_argument, NULL, 'p'},
                                            {"write-only", no_argument, NULL, 'w'},
                                            {0}};
    const char *repo_name = NULL, *new_key = NULL, *new_pass = NULL;
    bool write_only = false;
    optind = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:", options, NULL)) != -1) {
        switch (opt) {
        case 'r': repo_name = optarg; break;
        case 'k': new_key = optarg; break;
        case 'p': new_pass = optarg; break;
        case 'w': write_only = true; break;
        default: return cli_usage_error("key", "unknown option");
        }
    }
    UkError err = {0};
    if (strcmp(action, "generate") == 0) {
        if (optind + 1 != argc)
            return cli_usage_error("key", "generate takes one FILE");
        if (keyring_generate_key_file(argv[optind], &err) != 0)
            return cli_fail(&err);
        if (!ctx->quiet)
            printf("wrote key file '%s' (32 random bytes, mode 0600): keep a copy where the "
                   "repository is not\n",
                   argv[optind]);
        return 0;
    }
    if (strcmp(action, "list") != 0 && strcmp(action, "add") != 0 && strcmp(action, "remove") != 0)
        return cli_usage_error("key", "unknown action '%s' (generate, list, add, remove)", action);
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    const ConfigRepository *cfg = pick(ctx->config, repo_name);
    if (!cfg)
        return cli_usage_error("key",
                               repo_name ? "no [repository %s]"
                                         : "no single encrypted repository: give --repository%s",
                               repo_name ? repo_name : "");
    Repo *repo = NULL;
    if (task_open_repo(cfg, false, &repo, &err) != 0)
        return cli_fail(&err);
    if (strcmp(action, "list") == 0) {
        KeyInfo *list = NULL;
        size_t n = 0;
        long current = -1;
        rc = repo_keys(repo, &list, &n, &current, &err);
        if (rc == 0 && ctx->json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "id",
                                                     list[i].id, "kind", list[i].kind, "credential",
                                                     list[i].credential, "host", list[i].host,
                                                     "created", cli_json_time(list[i].created),
                                                     "current", (long)i == current));
            cli_print_json(arr);
        } else if (rc == 0) {
            printf("  %-32s %-10s %-10s %-20s %s\n", "ID", "KIND", "CREDENTIAL", "HOST", "MADE");
            for (size_t i = 0; i < n; i++) {
                char t[32];
                printf("%c %-32s %-10s %-10s %-20s %s\n", (long)i == current ? '*' : ' ',
                       list[i].id, list[i].kind, list[i].credential, list[i].host,
                       format_time_local(list[i].created, t, sizeof t));
            }
        }
        free(list);
    } else if (strcmp(action, "add") == 0) {
        if (!new_key == !new_pass) {
            repo_close(repo);
            return cli_usage_error("key", "add takes --new-key-file or --new-passphrase-file");
        }
        KeyCredential cred;
        char id[33];
        rc = key_credential_from_file(new_key ? new_key : new_pass, new_pass != NULL, &cred, &err);
        if (rc == 0)
            rc = repo_key_add(repo, &cred, write_only, id, &err);
        key_credential_clear(&cred);
        if (rc == 0 && !ctx->quiet)
            printf("added %s key %s to repository '%s'\n", write_only ? "write-only" : "full", id,
                   cfg->name);
    } else {
        if (optind + 1 != argc) {
            repo_close(repo);
            return cli_usage_error("key", "remove takes one key ID");
        }
        rc = repo_key_remove(repo, argv[optind], &err);
        if (rc == 0 && !ctx->quiet)
            printf("removed key %s from repository '%s'\n", argv[optind], cfg->name);
    }
    repo_close(repo);
    return rc == 0 ? 0 : cli_fail(&err);
}
