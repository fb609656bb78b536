/**
 * TorchServe's own `config.properties`: where the pod finds it and the store,
 * and its rendering from the settings. Imports only from config/ and store/.
 */
export * from "./configProperties";
