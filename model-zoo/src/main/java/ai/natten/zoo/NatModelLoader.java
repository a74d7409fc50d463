package ai.natten.zoo;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.repository.MRL;
import ai.djl.repository.Repository;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelLoader;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Progress;
import ai.natten.zoo.nat.NatModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Loads one NAT/DiNAT variant (its artifact id, such as {@code dinat_tiny}) offline: from the
 * directory given by the argument {@code modelDir}, else {@code <repository>/<artifactId>/} (see
 * {@link ModelDirectory}). The weights are a checkpoint, DJL parameters, or, with the argument
 * {@code randomInit=true}, random. Nothing is ever downloaded.
 */
final class NatModelLoader implements ModelLoader {

    private final String artifactId;
    private final NatFamilyBlockFactory factory;
    private final MRL mrl;

    NatModelLoader(String artifactId, NatFamilyBlockFactory factory) {
        this.artifactId = artifactId;
        this.factory = factory;
        Repository repository = Repository.newInstance("natten", ModelDirectory.repository());
        this.mrl =
                MRL.model(
                        repository,
                        Application.CV.IMAGE_CLASSIFICATION,
                        NatModelZoo.GROUP_ID,
                        artifactId,
                        "0.1.0",
                        artifactId);
    }

    @Override
    public String getGroupId() {
        return NatModelZoo.GROUP_ID;
    }

    @Override
    public String getArtifactId() {
        return artifactId;
    }

    @Override
    public Application getApplication() {
        return Application.CV.IMAGE_CLASSIFICATION;
    }

    @Override
    public MRL getMrl() {
        return mrl;
    }

    @Override
    public <I, O> ZooModel<I, O> loadModel(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException, MalformedModelException {
        TranslatorFactory translators =
                criteria.getTranslatorFactory() != null
                        ? criteria.getTranslatorFactory()
                        : new NatTranslatorFactory();
        if (!translators.isSupported(criteria.getInputClass(), criteria.getOutputClass())) {
            throw new ModelNotFoundException(
                    artifactId
                            + " translates "
                            + Image.class.getSimpleName()
                            + " -> "
                            + Classifications.class.getSimpleName()
                            + "; give a translator factory for other types");
        }
        Map<String, Object> arguments = new HashMap<>(criteria.getArguments());
        arguments.put("variant", artifactId);
        Object configured = arguments.get("modelDir");
        Path dir =
                configured != null
                        ? Path.of(configured.toString())
                        : ModelDirectory.repository().resolve(artifactId);
        arguments.put("modelDir", dir.toString());
        String name = criteria.getModelName() != null ? criteria.getModelName() : artifactId;
        Model model = Model.newInstance(name, criteria.getDevice(), "PyTorch");
        try {
            NatModel block = (NatModel) factory.newBlock(model, dir, arguments);
            model.setBlock(block);
            if (!block.isInitialized()) {
                model.load(dir, name, criteria.getOptions()); // DJL .params
            }
            Translator<I, O> translator =
                    translators.newInstance(
                            criteria.getInputClass(), criteria.getOutputClass(), model, arguments);
            return new ZooModel<>(model, translator);
        } catch (IOException | TranslateException | RuntimeException e) {
            model.close();
            if (e instanceof IOException io) {
                throw new ModelNotFoundException(io.getMessage(), io);
            }
            if (e instanceof TranslateException) {
                throw new ModelNotFoundException("no translator for " + artifactId, e);
            }
            throw (RuntimeException) e;
        }
    }

    @Override
    public <I, O> boolean isDownloaded(Criteria<I, O> criteria) throws IOException {
        Path dir = ModelDirectory.repository().resolve(artifactId);
        return ModelDirectory.checkpoint(dir).isPresent() || ModelDirectory.hasDjlParameters(dir);
    }

    @Override
    public <I, O> void downloadModel(Criteria<I, O> criteria, Progress progress)
            throws ModelNotFoundException {
        throw new ModelNotFoundException(
                "the NAT zoo never downloads: place the weights of "
                        + artifactId
                        + " in "
                        + ModelDirectory.repository().resolve(artifactId));
    }

    @Override
    public String toString() {
        return NatModelZoo.GROUP_ID + ":" + artifactId;
    }
}
